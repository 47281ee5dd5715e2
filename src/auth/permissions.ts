/** Role × action, in one table. Every management route names the action it needs. */
export type Role = 'admin' | 'developer' | 'analyst';
export const ROLES: Role[] = ['admin', 'developer', 'analyst'];

export type Permission =
  | 'users:read'
  | 'users:write'
  | 'keys:own' // create / read / change one's own gateway keys
  | 'keys:any' // every user's gateway keys
  | 'wallet:read'
  | 'wallet:write'
  | 'services:read'
  | 'services:write'
  | 'plans:read'
  | 'plans:write'
  | 'models:read'
  | 'models:write'
  | 'analytics:own'
  | 'analytics:all'
  | 'audit:read'
  | 'routing:explain'
  | 'credits:write'
  | 'system:read'
  | 'teams:write' // create, change and delete any team, its ceilings and budget (team admins manage members only)
  | 'webhooks:write' // every webhook, org-wide ones included (team admins manage their own team's webhooks only)
  | 'org:budget'; // read and set the organisation-wide budget

const ALL: Permission[] = [
  'users:read', 'users:write', 'keys:own', 'keys:any', 'wallet:read', 'wallet:write', 'services:read',
  'services:write', 'plans:read', 'plans:write', 'models:read', 'models:write', 'analytics:own',
  'analytics:all', 'audit:read', 'routing:explain', 'credits:write', 'system:read', 'teams:write', 'webhooks:write', 'org:budget',
];

export const PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(ALL),
  developer: new Set<Permission>(['keys:own', 'services:read', 'plans:read', 'models:read', 'analytics:own']),
  analyst: new Set<Permission>(['services:read', 'plans:read', 'models:read', 'analytics:own', 'analytics:all']),
};

export function can(role: Role, permission: Permission): boolean {
  return PERMISSIONS[role]?.has(permission) ?? false;
}
