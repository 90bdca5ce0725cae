/**
 * The embeds, built after the main app (`vite build -c vite.embed.config.ts`,
 * see package.json "build"), into the same folder without emptying it:
 *
 * - dist/web/embed.js: web/src/embed/elements.ts as one minified IIFE (the
 *   custom elements; plain TypeScript, styles inlined, no runtime deps);
 * - dist/web/embed.html (+ its assets/embed-*.js/css): the iframe widget
 *   page, built by a second, nested Vite build once embed.js is written, so
 *   this one config yields both (also when called as
 *   `build({ configFile: 'vite.embed.config.ts', build: { outDir } })`).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type LogLevel, type Plugin } from 'vite';

const repoRoot = fileURLToPath(new URL('.', import.meta.url));
const webRoot = resolve(repoRoot, 'web');

/** Builds web/embed.html into the same outDir as the library build, after it. */
function widgetPage(): Plugin {
  let outDir = '';
  let logLevel: LogLevel = 'info';
  let mode = 'production';
  return {
    name: 'resonance:embed-page',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
      logLevel = config.logLevel ?? 'info';
      mode = config.mode;
    },
    async writeBundle() {
      await build({
        configFile: false,
        root: webRoot,
        mode,
        logLevel,
        publicDir: false,
        build: {
          outDir,
          emptyOutDir: false,
          rolldownOptions: { input: { embed: resolve(webRoot, 'embed.html') } },
        },
      });
    },
  };
}

export default defineConfig({
  root: repoRoot,
  publicDir: false,
  plugins: [widgetPage()],
  build: {
    outDir: 'dist/web',
    emptyOutDir: false,
    copyPublicDir: false,
    minify: true,
    sourcemap: false,
    lib: {
      entry: resolve(webRoot, 'src/embed/elements.ts'),
      formats: ['iife'],
      name: 'ResonanceEmbed',
      fileName: () => 'embed.js',
    },
    // A classic script is decoded in the host page's charset: ASCII (\u escapes) reads the same in any.
    rolldownOptions: { output: { charset: 'ascii' } },
  },
});
