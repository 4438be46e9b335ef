import { imageNodeMajor } from './image-node';

describe('imageNodeMajor', () => {
  it("reads the runtime stage's Node major from the Dockerfile (the last node base image)", () => {
    expect(imageNodeMajor('FROM node:20-slim AS build\nRUN x\nFROM node:22-bookworm-slim AS runtime\n')).toBe(22);
    expect(imageNodeMajor()).toBeGreaterThanOrEqual(22); // docker/Dockerfile itself
  });

  it('refuses a Dockerfile without a node base image', () => {
    expect(() => imageNodeMajor('FROM debian:bookworm\n')).toThrow(/no node:<major>/);
  });
});
