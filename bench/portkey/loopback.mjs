// Preloaded by bench/run.sh (node --import): Portkey's gateway has no host option and would
// listen on every interface; the benchmark stays on loopback, so an unset host becomes 127.0.0.1.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && (args[1] === undefined || typeof args[1] === 'function')) {
    if (args[1] === undefined) args.splice(1, 1);
    args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
