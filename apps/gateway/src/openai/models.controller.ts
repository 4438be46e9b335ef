import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ModelDto, ModelListDto } from './dto/chat-completion-response.dto';
import { ModelsService } from './models.service';

@ApiTags('openai')
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({ summary: 'The advertised models and aliases.' })
  @ApiOkResponse({ type: ModelListDto })
  list(): ModelListDto {
    return { object: 'list', data: this.models.list() };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One model (404 in OpenAI shape when unknown).' })
  @ApiOkResponse({ type: ModelDto })
  get(@Param('id') id: string): ModelDto {
    return this.models.get(id);
  }
}
