import { defineConfig, type ProxyOptions } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const api = process.env.API_URL ?? 'http://127.0.0.1:8080';

const http = (): ProxyOptions => ({ target: api });
// Upgrades must be proxied too, or socket.io falls back to nothing (the client forces websocket).
const ws = (): ProxyOptions => ({ target: api, ws: true });

export default defineConfig({
  root: 'web',
  plugins: [svelte({ configFile: false })],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
  },
  server: {
    port: 5173,
    proxy: {
      '/api': http(),
      '/docs': http(),
      '/healthz': http(),
      '/readyz': http(),
      '/metrics': http(),
      '/ws': ws(),
      '/socket.io': ws(),
    },
  },
});
