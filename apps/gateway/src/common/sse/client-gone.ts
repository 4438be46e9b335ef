import type { Response } from 'express';
import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Completes (and so unsubscribes from) the source when the HTTP client disconnects before the response
 * is sent: for a turn that means it is interrupted rather than left running for nobody.
 */
export function untilClientGone<T>(res: Response): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const onClose = () => {
        if (!res.writableEnded) subscriber.complete();
      };
      // `res` 'close' (not `req`'s, which fires once the body is read) means the connection ended.
      res.on('close', onClose);
      const sub = source.subscribe(subscriber);
      return () => {
        res.off('close', onClose);
        sub.unsubscribe();
      };
    });
}
