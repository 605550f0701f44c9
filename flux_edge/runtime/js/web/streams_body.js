// WHATWG Streams, part 7 of 7: what Fetch bodies and Blob need from streams (body.js and
// request_response.js reach these through `__flux_web.streams()`, which loads the streams).
(function (global, flux) {
  'use strict';

  const { TypeError, Uint8Array } = flux.intrinsics;
  const S = flux.streams;
  const { react, resolved, newPromise } = S;

  // A byte stream that yields `bytes` (not copied: callers pass bytes nobody writes) as one chunk.
  S.streamFromBytes = (bytes) => {
    let sent = false;
    const stream = S.createReadableByteStream(() => undefined, () => {
      if (!sent) {
        sent = true;
        const c = stream.controller;
        if (bytes.length > 0) S.byteControllerEnqueue(c, S.viewInfo(bytes.slice()));
        S.byteControllerClose(c);
        const request = c.byobRequest;
        if (request !== null) S.byteRespond(c, 0);
      }
      return resolved(undefined);
    }, () => resolved(undefined));
    return stream;
  };

  // The body stream of a Request/Response whose bytes were read: closed, disturbed and locked, as
  // consuming a body leaves it (Fetch "fully read" never releases its reader), so getReader()
  // on it throws.
  S.usedStream = () => {
    const stream = S.streamFromBytes(new Uint8Array(0));
    S.byteControllerClose(stream.controller);
    stream.disturbed = true;
    S.acquireDefaultReader(stream);
    return stream;
  };

  S.isUnusable = (stream) => stream.disturbed || S.isLocked(stream);

  // Fetch "fully read": every chunk must be a Uint8Array; resolves with their concatenation. The
  // reader is kept: a consumed body's stream stays locked.
  S.readAllBytes = (stream) => {
    const reader = S.readerOf(S.acquireDefaultReader(stream));
    const chunks = [];
    let total = 0;
    const { promise, resolve, reject } = newPromise();
    const step = () => {
      S.defaultReaderRead(reader, {
        chunk: (chunk) => {
          const info = S.viewInfo(chunk);
          if (info === undefined || info.ctor !== S.Uint8ArrayCtor) {
            const error = new TypeError('A body stream chunk is not a Uint8Array');
            react(S.readableStreamCancel(stream, error), () => {}, () => {});
            reject(error);
            return;
          }
          chunks.push(chunk);
          total += info.byteLength;
          // Continue in a microtask, as a read request's steps may run inside enqueue().
          react(S.UNDEFINED, step);
        },
        close: () => {
          if (chunks.length === 1) {
            resolve(chunks[0].slice());
            return;
          }
          const out = new Uint8Array(total);
          let offset = 0;
          for (const chunk of chunks) {
            out.set(chunk, offset);
            offset += chunk.length;
          }
          resolve(out);
        },
        error: (error) => {
          reject(error);
        },
      });
    };
    step();
    return promise;
  };

  // For streamed responses: a reader that pulls one chunk at a time. read() resolves with a
  // Uint8Array, or null at the end; it rejects with the stream's error or for a chunk that is
  // not a Uint8Array.
  S.chunkReader = (stream) => {
    const reader = S.readerOf(S.acquireDefaultReader(stream));
    return {
      read() {
        const { promise, resolve, reject } = newPromise();
        S.defaultReaderRead(reader, {
          chunk: (chunk) => {
            const info = S.viewInfo(chunk);
            if (info === undefined || info.ctor !== S.Uint8ArrayCtor) {
              const error = new TypeError('A response body chunk is not a Uint8Array');
              react(S.readableStreamCancel(stream, error), () => {}, () => {});
              reject(error);
              return;
            }
            resolve(chunk);
          },
          close: () => resolve(null),
          error: reject,
        });
        return promise;
      },
      cancel(reason) {
        if (reader.stream === undefined) return S.UNDEFINED;
        return S.readableStreamCancel(stream, reason);
      },
    };
  };
  S.Uint8ArrayCtor = Uint8Array;
})
