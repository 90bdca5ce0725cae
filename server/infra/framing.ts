/**
 * Who may frame what: the embed pages (`/embed/...`) may be framed by this
 * origin and the origins in EMBED_ORIGINS; every other response refuses
 * framing. Public reads allow any origin, so widgets and badges work from
 * other sites.
 */
import fp from 'fastify-plugin';

export function frameAncestors(origins: string[]): string {
  return ["'self'", ...origins].join(' ');
}

export default fp<{ embedOrigins: string[] }>(
  async (app, { embedOrigins }) => {
    const embedPolicy = `frame-ancestors ${frameAncestors(embedOrigins)}`;
    app.addHook('onSend', async (req, reply, payload) => {
      const path = req.url.split('?')[0] ?? '';
      if (path.startsWith('/embed/')) {
        reply.header('content-security-policy', embedPolicy);
      } else {
        reply.header('content-security-policy', "frame-ancestors 'none'");
        reply.header('x-frame-options', 'DENY');
      }
      if (req.method === 'GET' && (path.startsWith('/api/') || path === '/embed.js')) reply.header('access-control-allow-origin', '*');
      reply.header('x-content-type-options', 'nosniff');
      return payload;
    });
  },
  { name: 'framing' },
);
