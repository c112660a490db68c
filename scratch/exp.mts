import { ProxyAgent, request } from 'undici';
import http from 'node:http';
import { startProxy } from '../test/helpers/proxy.ts';
setTimeout(()=>{console.log('keepalive end', drop.connects.length);process.exit(1)}, 10000);
const target = http.createServer((q, r) => r.end('hi ' + q.url)).listen(0, '127.0.0.1');
await new Promise(r => target.once('listening', r));
const tport = (target.address() as any).port;
const ok = await startProxy(); const auth = await startProxy({ auth: 'u:p' }); const drop = await startProxy({ drop: true });
for (const tunnel of [true]) for (const [name, url] of [['drop', drop.url], ['dead', 'http://127.0.0.1:1']]) {
  const agent = new ProxyAgent({ uri: url, proxyTunnel: tunnel });
  try { const r = await request(`http://127.0.0.1:${tport}/x`, { dispatcher: agent, signal: AbortSignal.timeout(3000) }); console.log(tunnel, name, r.statusCode, await r.body.text()); }
  catch (e: any) { console.log(tunnel, name, 'ERR', e.constructor.name, e.code, e.message, e.cause?.code); }
  await agent.close();
}
console.log(ok.requests, ok.connects);
process.exit(0);

