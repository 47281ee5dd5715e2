import type Router from '@koa/router';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import type { AppState } from '../http/context';

/**
 * Every resource's routes, in one list. A capability adds one line here.
 * `api(tag)` gives a router whose routes document themselves under that OpenAPI tag.
 */
export function mountRoutes(deps: Deps, api: (tag: string) => Api): Router<AppState>[] {
  void deps;
  void api;
  return [];
}
