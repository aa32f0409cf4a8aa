'use strict';
// Preloaded into the app instances of the local topology (`node --require`, scripts/topology/up.sh).
// The app listens on every interface (`app.listen(PORT)`, it has no host setting), while on this
// machine only HAProxy should be reachable, and only on 127.0.0.1. This binds the server on PORT
// to 127.0.0.1; nothing else changes. A HOST setting in the app would make it unnecessary.
const net = require('node:net');

const port = Number(process.env.PORT);
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function listenOnLoopback(...args) {
  // Only the form the app uses, listen(port[, callback]): a host given explicitly is kept.
  if (Number(args[0]) === port && (args.length === 1 || typeof args[1] === 'function')) {
    args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
