// performance.now() and performance.timeOrigin (W3C High Resolution Time), from Date.now().
// ECMAScript has no monotonic clock, so the resolution is 1 ms and a wall clock stepping back is
// absorbed by never returning less than the previous reading.
(function (global) {
  "use strict";

  const dateNow = Date.now;
  const timeOrigin = dateNow();
  let lastReading = 0;

  // Performance is an EventTarget (High Resolution Time), though nothing fires events at it here.
  class Performance extends global.EventTarget {
    // Milliseconds since this isolate's prelude ran (isolates are pooled: not since the request).
    now() {
      lastReading = Math.max(lastReading, dateNow() - timeOrigin);
      return lastReading;
    }

    get timeOrigin() {
      return timeOrigin;
    }

    toJSON() {
      return { timeOrigin };
    }
  }
  Object.defineProperty(Performance.prototype, Symbol.toStringTag, {
    value: "Performance",
    configurable: true,
  });

  global.__flux_webutil.defineGlobal("performance", new Performance());
})(globalThis);
