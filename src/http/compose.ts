import type Koa from 'koa';

/** koa-compose's contract (each middleware's next runs the rest, once), for the few chains built by hand. */
export function compose(middleware: Koa.Middleware[]): Koa.Middleware {
  return (ctx, next) => {
    const run = (i: number): Promise<unknown> => {
      if (i === middleware.length) return next();
      try {
        return Promise.resolve(middleware[i](ctx, () => run(i + 1)));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return run(0);
  };
}
