/** A second web origin on another loopback port, serving fixed HTML pages: the "other site" that embeds widgets. */
import { createServer, type Server } from 'node:http';

export interface Origin {
  url: string;
  close(): Promise<void>;
}

export async function serveOrigin(pages: Record<string, string>): Promise<Origin> {
  const server: Server = createServer((req, res) => {
    const path = req.url?.split('?')[0] ?? '';
    // Browsers ask every origin for a favicon; answer without one rather than with a 404 in the console.
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const page = pages[path];
    if (page === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
