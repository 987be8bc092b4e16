/**
 * Preloaded (`node --import`) into third-party servers that listen on every interface
 * (`app.listen(PORT)`), such as @modelcontextprotocol/server-everything: a listen call that names
 * a port but no host gets 127.0.0.1, so that the tests never open a port beyond loopback.
 */
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const port = args[0];
  const isPort = typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port));
  if (isPort && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};
