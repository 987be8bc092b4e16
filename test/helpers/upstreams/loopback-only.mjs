/**
 * Preloaded (`node --import`) into third-party servers that listen on every interface
 * (`app.listen(PORT)`), such as @modelcontextprotocol/server-everything: a listen call that names
 * a port but no host gets 127.0.0.1, or the loopback address in LOOPBACK_HOST (several replicas can
 * then share a port, as instances behind one DNS name do), so that the tests never open a port
 * beyond loopback.
 */
import net from 'node:net';

const host = process.env.LOOPBACK_HOST || '127.0.0.1';
if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
  throw new Error(`LOOPBACK_HOST must be a 127.x.y.z address, got ${host}`);
}

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const port = args[0];
  const isPort = typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port));
  if (isPort && typeof args[1] !== 'string') args.splice(1, 0, host);
  return listen.apply(this, args);
};
