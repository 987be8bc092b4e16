/**
 * What a principal holds across the fleet, counted as leases: a member (a session id, a stream
 * id) with an expiry, in one set per principal and kind. A lease lives until it is released or
 * expires; whoever still needs it refreshes it. A node that dies without releasing its leases
 * frees them by their expiry, so a count never stays too high for longer than one lease.
 */
export type LeaseKind = 'sessions' | 'streams';

export interface LeaseStore {
  /**
   * Holds `member` for `principal` for `ttlMs` from now (refreshing it if already held). Refused
   * when the principal already holds `max` other live leases of this kind; `max` 0 means no limit.
   * Expired leases are dropped first. Returns whether it is held, and how many the principal holds.
   */
  claim(
    kind: LeaseKind,
    principal: string,
    member: string,
    ttlMs: number,
    max: number,
  ): Promise<{ held: boolean; count: number }>;
  /** Extends leases still in use by `ttlMs` from now, re-adding any that lapsed meanwhile. */
  refresh(kind: LeaseKind, principal: string, members: string[], ttlMs: number): Promise<void>;
  release(kind: LeaseKind, principal: string, member: string): Promise<void>;
}
