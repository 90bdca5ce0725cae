/**
 * Global setup of the browser tier: builds the web into a temporary folder
 * (so a developer's dist/ is left alone), with embed.js and the widget page,
 * and hands its path to the tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    webDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const outDir = mkdtempSync(join(tmpdir(), 'resonance-web-'));
  await build({ configFile: resolve('vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  // embed.js and the iframe widget page, into the same folder.
  await build({ configFile: resolve('vite.embed.config.ts'), logLevel: 'warn', build: { outDir } });
  project.provide('webDir', outDir);
  return () => rmSync(outDir, { recursive: true, force: true });
}
