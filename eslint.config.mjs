// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Nest's HTTP exceptions: only controllers, pipes, guards and filters speak HTTP; services throw domain errors. */
const httpExceptions = [
  'HttpException',
  'BadRequestException',
  'UnauthorizedException',
  'ForbiddenException',
  'NotFoundException',
  'ConflictException',
  'GoneException',
  'PayloadTooLargeException',
  'UnprocessableEntityException',
  'ServiceUnavailableException',
  'InternalServerErrorException',
  'BadGatewayException',
  'GatewayTimeoutException',
  'NotImplementedException',
  'MethodNotAllowedException',
  'NotAcceptableException',
  'RequestTimeoutException',
  'PreconditionFailedException',
  'UnsupportedMediaTypeException',
  'ImATeapotException',
  'HttpVersionNotSupportedException',
  'MisdirectedException',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.test-data/**', 'coverage/**', '.scratch/**', '**/*.js', '**/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['**/*.controller.ts', '**/*.pipe.ts', '**/*.filter.ts', '**/*.guard.ts', '**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@nestjs/common',
              importNames: httpExceptions,
              message: 'Throw a domain error (common/errors); only controllers, pipes, guards and filters speak HTTP.',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
