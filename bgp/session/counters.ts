// Per-session message counters, by message type (for status).
import { MessageType } from '../packet/index.js';
import type { MessageCounters } from '../server/types.js';

export function counters(): MessageCounters {
  return { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };
}

export function count(c: MessageCounters, type: number): void {
  switch (type) {
    case MessageType.OPEN:
      c.open++;
      break;
    case MessageType.UPDATE:
      c.update++;
      break;
    case MessageType.NOTIFICATION:
      c.notification++;
      break;
    case MessageType.KEEPALIVE:
      c.keepalive++;
      break;
    case MessageType.ROUTE_REFRESH:
      c.routeRefresh++;
      break;
  }
}
