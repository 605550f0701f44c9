// WHATWG Streams, part 5 of 7: piping (ReadableStreamPipeTo) and teeing (ReadableStreamTee for
// default and byte streams). Reads go through internal read requests, so piping is not
// observable through patched globals.
(function (global, flux) {
  'use strict';

  const { TypeError, Uint8Array } = flux.intrinsics;
  const S = flux.streams;
  const { react, resolved, newPromise, deferred, markHandled } = S;
  const microtask = (fn) => { react(S.UNDEFINED, fn); };

  // ---- ReadableStreamPipeTo ----
  S.pipeTo = (source, dest, preventClose, preventAbort, preventCancel, signal) => {
    const reader = S.readerOf(S.acquireDefaultReader(source));
    const writer = S.acquireWriter(dest);
    source.disturbed = true;
    let shuttingDown = false;
    let currentWrite = resolved(undefined);
    const { promise, resolve, reject } = newPromise();
    let abortAlgorithm;

    const waitForWritesToFinish = () => {
      const old = currentWrite;
      return react(currentWrite, () => (old !== currentWrite ? waitForWritesToFinish() : undefined));
    };
    const finalize = (isError, error) => {
      S.writerRelease(writer);
      S.defaultReaderRelease(reader);
      if (signal !== undefined) flux.removeAbortAlgorithm(signal, abortAlgorithm);
      if (isError) reject(error);
      else resolve(undefined);
    };
    const shutdownWithAction = (action, originalIsError, originalError) => {
      if (shuttingDown) return;
      shuttingDown = true;
      const doTheRest = () => {
        react(action(), () => finalize(originalIsError, originalError), (newError) => finalize(true, newError));
      };
      if (dest.state === 'writable' && !S.writableCloseQueuedOrInFlight(dest)) react(waitForWritesToFinish(), doTheRest);
      else doTheRest();
    };
    const shutdown = (isError, error) => {
      if (shuttingDown) return;
      shuttingDown = true;
      if (dest.state === 'writable' && !S.writableCloseQueuedOrInFlight(dest)) {
        react(waitForWritesToFinish(), () => finalize(isError, error));
      } else {
        finalize(isError, error);
      }
    };

    if (signal !== undefined) {
      abortAlgorithm = () => {
        const error = signal.reason;
        const actions = [];
        if (!preventAbort) actions.push(() => (dest.state === 'writable' ? S.writableStreamAbort(dest, error) : resolved(undefined)));
        if (!preventCancel) actions.push(() => (source.state === 'readable' ? S.readableStreamCancel(source, error) : resolved(undefined)));
        shutdownWithAction(() => waitAll(actions.map((action) => action())), true, error);
      };
      if (signal.aborted) {
        abortAlgorithm();
        return promise;
      }
      flux.addAbortAlgorithm(signal, abortAlgorithm);
    }

    const pipeStep = () => {
      if (shuttingDown) return resolved(true);
      return react(writer.ready.promise, () => {
        const read = newPromise();
        S.defaultReaderRead(reader, {
          // The write waits for a microtask: a chunk read inside enqueue() must not run the
          // sink's write() synchronously inside it.
          chunk: (chunk) => {
            currentWrite = react(react(S.UNDEFINED, () => S.writerWrite(writer, chunk)), undefined, () => {});
            read.resolve(false);
          },
          close: () => read.resolve(true),
          error: read.reject,
        });
        return read.promise;
      });
    };
    const pipeLoop = () => react(pipeStep(), (done) => (done ? undefined : pipeLoop()));

    // Errors must be propagated forward, backward, and closing forward and backward.
    const sourceErrored = (error) => {
      if (!preventAbort) shutdownWithAction(() => S.writableStreamAbort(dest, error), true, error);
      else shutdown(true, error);
    };
    const destErrored = (error) => {
      if (!preventCancel) shutdownWithAction(() => S.readableStreamCancel(source, error), true, error);
      else shutdown(true, error);
    };
    const sourceClosed = () => {
      if (!preventClose) shutdownWithAction(() => S.writerCloseWithErrorPropagation(writer));
      else shutdown();
    };
    if (source.state === 'errored') sourceErrored(source.storedError);
    else react(reader.closed.promise, undefined, sourceErrored);
    if (dest.state === 'errored') destErrored(dest.storedError);
    else react(writer.closed.promise, undefined, destErrored);
    if (source.state === 'closed') sourceClosed();
    else react(reader.closed.promise, sourceClosed, undefined);
    if (S.writableCloseQueuedOrInFlight(dest) || dest.state === 'closed') {
      const error = new TypeError('the destination writable stream closed before all data could be piped to it');
      if (!preventCancel) shutdownWithAction(() => S.readableStreamCancel(source, error), true, error);
      else shutdown(true, error);
    }
    markHandled(pipeLoop());
    return promise;
  };

  // Promise.all over internal promises, without Promise.all (user code may replace it).
  function waitAll(promises) {
    const { promise, resolve, reject } = newPromise();
    let left = promises.length;
    if (left === 0) resolve(undefined);
    for (const p of promises) react(p, () => { if (--left === 0) resolve(undefined); }, reject);
    return promise;
  }

  // ---- ReadableStreamTee ----
  S.tee = (stream, cloneForBranch2) => (stream.controller.kind === 'byte' ? byteTee(stream) : defaultTee(stream, cloneForBranch2));

  function defaultTee(stream) {
    const reader = S.readerOf(S.acquireDefaultReader(stream));
    let reading = false;
    let readAgain = false;
    let canceled1 = false;
    let canceled2 = false;
    let reason1;
    let reason2;
    let branch1;
    let branch2;
    const cancelPromise = deferred();
    const pull = () => {
      if (reading) {
        readAgain = true;
        return resolved(undefined);
      }
      reading = true;
      S.defaultReaderRead(reader, {
        chunk: (chunk) => microtask(() => {
          readAgain = false;
          if (!canceled1) S.defaultControllerEnqueue(branch1.controller, chunk);
          if (!canceled2) S.defaultControllerEnqueue(branch2.controller, chunk);
          reading = false;
          if (readAgain) pull();
        }),
        close: () => {
          reading = false;
          if (!canceled1) S.defaultControllerClose(branch1.controller);
          if (!canceled2) S.defaultControllerClose(branch2.controller);
          if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
        },
        error: () => { reading = false; },
      });
      return resolved(undefined);
    };
    const cancel1 = (reason) => {
      canceled1 = true;
      reason1 = reason;
      if (canceled2) cancelPromise.resolve(S.readableStreamCancel(stream, [reason1, reason2]));
      return cancelPromise.promise;
    };
    const cancel2 = (reason) => {
      canceled2 = true;
      reason2 = reason;
      if (canceled1) cancelPromise.resolve(S.readableStreamCancel(stream, [reason1, reason2]));
      return cancelPromise.promise;
    };
    const start = () => undefined;
    branch1 = S.createReadableStream(start, pull, cancel1);
    branch2 = S.createReadableStream(start, pull, cancel2);
    react(reader.closed.promise, undefined, (r) => {
      S.defaultControllerError(branch1.controller, r);
      S.defaultControllerError(branch2.controller, r);
      if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
    });
    return [branch1, branch2];
  }

  const cloneAsUint8Array = (view) => {
    const info = S.viewInfo(view);
    return new Uint8Array(S.cloneBufferRange(info.buffer, info.byteOffset, info.byteLength));
  };

  function byteTee(stream) {
    let reader = S.readerOf(S.acquireDefaultReader(stream));
    let reading = false;
    let readAgainForBranch1 = false;
    let readAgainForBranch2 = false;
    let canceled1 = false;
    let canceled2 = false;
    let reason1;
    let reason2;
    let branch1;
    let branch2;
    const cancelPromise = deferred();

    const forwardReaderError = (thisReader) => {
      react(thisReader.closed.promise, undefined, (r) => {
        if (thisReader !== reader) return;
        S.byteControllerError(branch1.controller, r);
        S.byteControllerError(branch2.controller, r);
        if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
      });
    };
    const cloneFailed = (error) => {
      S.byteControllerError(branch1.controller, error);
      S.byteControllerError(branch2.controller, error);
      cancelPromise.resolve(S.readableStreamCancel(stream, error));
    };
    const afterChunk = () => {
      reading = false;
      if (readAgainForBranch1) pull1();
      else if (readAgainForBranch2) pull2();
    };

    const pullWithDefaultReader = () => {
      if (reader.kind === 'byob') {
        S.byobReaderRelease(reader);
        reader = S.readerOf(S.acquireDefaultReader(stream));
        forwardReaderError(reader);
      }
      S.defaultReaderRead(reader, {
        chunk: (chunk) => microtask(() => {
          readAgainForBranch1 = false;
          readAgainForBranch2 = false;
          let chunk2 = chunk;
          if (!canceled1 && !canceled2) {
            try {
              chunk2 = cloneAsUint8Array(chunk);
            } catch (error) {
              cloneFailed(error);
              return;
            }
          }
          if (!canceled1) S.byteControllerEnqueue(branch1.controller, S.viewInfo(chunk));
          if (!canceled2) S.byteControllerEnqueue(branch2.controller, S.viewInfo(chunk2));
          afterChunk();
        }),
        close: () => {
          reading = false;
          if (!canceled1) S.byteControllerClose(branch1.controller);
          if (!canceled2) S.byteControllerClose(branch2.controller);
          if (branch1.controller.pendingPullIntos.length > 0) S.byteRespond(branch1.controller, 0);
          if (branch2.controller.pendingPullIntos.length > 0) S.byteRespond(branch2.controller, 0);
          if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
        },
        error: () => { reading = false; },
      });
    };

    const pullWithBYOBReader = (view, forBranch2) => {
      if (reader.kind === 'default') {
        S.defaultReaderRelease(reader);
        reader = S.byobReaderOf(S.acquireBYOBReader(stream));
        forwardReaderError(reader);
      }
      const byobBranch = forBranch2 ? branch2 : branch1;
      const otherBranch = forBranch2 ? branch1 : branch2;
      S.byobReaderRead(reader, S.viewInfo(view), 1, {
        chunk: (chunk) => microtask(() => {
          readAgainForBranch1 = false;
          readAgainForBranch2 = false;
          const byobCanceled = forBranch2 ? canceled2 : canceled1;
          const otherCanceled = forBranch2 ? canceled1 : canceled2;
          if (!otherCanceled) {
            let cloned;
            try {
              cloned = cloneAsUint8Array(chunk);
            } catch (error) {
              cloneFailed(error);
              return;
            }
            if (!byobCanceled) S.byteRespondWithNewView(byobBranch.controller, S.viewInfo(chunk));
            S.byteControllerEnqueue(otherBranch.controller, S.viewInfo(cloned));
          } else if (!byobCanceled) {
            S.byteRespondWithNewView(byobBranch.controller, S.viewInfo(chunk));
          }
          afterChunk();
        }),
        close: (chunk) => {
          reading = false;
          const byobCanceled = forBranch2 ? canceled2 : canceled1;
          const otherCanceled = forBranch2 ? canceled1 : canceled2;
          if (!byobCanceled) S.byteControllerClose(byobBranch.controller);
          if (!otherCanceled) S.byteControllerClose(otherBranch.controller);
          if (chunk !== undefined) {
            if (!byobCanceled) S.byteRespondWithNewView(byobBranch.controller, S.viewInfo(chunk));
            if (!otherCanceled && otherBranch.controller.pendingPullIntos.length > 0) S.byteRespond(otherBranch.controller, 0);
          }
          if (!byobCanceled || !otherCanceled) cancelPromise.resolve(undefined);
        },
        error: () => { reading = false; },
      });
    };

    const pullBranch = (forBranch2) => {
      if (reading) {
        if (forBranch2) readAgainForBranch2 = true;
        else readAgainForBranch1 = true;
        return resolved(undefined);
      }
      reading = true;
      const request = S.getBYOBRequest((forBranch2 ? branch2 : branch1).controller);
      if (request === null) pullWithDefaultReader();
      else pullWithBYOBReader(S.byobRequestOf(request).view, forBranch2);
      return resolved(undefined);
    };
    const pull1 = () => pullBranch(false);
    const pull2 = () => pullBranch(true);
    const cancel1 = (reason) => {
      canceled1 = true;
      reason1 = reason;
      if (canceled2) cancelPromise.resolve(S.readableStreamCancel(stream, [reason1, reason2]));
      return cancelPromise.promise;
    };
    const cancel2 = (reason) => {
      canceled2 = true;
      reason2 = reason;
      if (canceled1) cancelPromise.resolve(S.readableStreamCancel(stream, [reason1, reason2]));
      return cancelPromise.promise;
    };
    const start = () => undefined;
    branch1 = S.createReadableByteStream(start, pull1, cancel1);
    branch2 = S.createReadableByteStream(start, pull2, cancel2);
    forwardReaderError(reader);
    return [branch1, branch2];
  }
})
