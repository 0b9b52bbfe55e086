/**
 * The config's `ignore` rules: which sessions the host does not report
 * (pure).
 *
 * The rules are judged on the true values only: the user and service from
 * pam_exec's own items, the groups from the system's name service. Whether
 * a close is ignored is decided by its open (lib/capture/capture.ts), so a
 * session is reported whole or not at all.
 *
 * @module
 */

import type { IgnoreRules } from "../config/settings.ts";

/** Whether judging `rules` needs the user's groups (a name service lookup). */
export function needsGroups(rules: IgnoreRules): boolean {
  return (rules.groups?.length ?? 0) > 0;
}

/**
 * The rule that ignores a session of `user` through `service`, whose groups
 * are `groups` (`undefined`: not known), e.g. `ignore.users has "ansible"`;
 * `undefined` when no rule does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ignoredBy } from "./ignore.ts";
 * const rules = { users: ["ansible"], groups: ["automation"] };
 * assert.equal(ignoredBy(rules, "ansible", "sshd", undefined), 'ignore.users has "ansible"');
 * assert.equal(ignoredBy(rules, "ci", "sshd", ["ci", "automation"]), 'ignore.groups has "automation"');
 * assert.equal(ignoredBy(rules, "alice", "sshd", ["alice", "wheel"]), undefined);
 * ```
 */
export function ignoredBy(
  rules: IgnoreRules,
  user: string,
  service: string,
  groups: readonly string[] | undefined,
): string | undefined {
  if (rules.users?.includes(user)) return `ignore.users has ${JSON.stringify(user)}`;
  if (rules.services?.includes(service)) return `ignore.services has ${JSON.stringify(service)}`;
  const group = groups?.find((g) => rules.groups?.includes(g));
  if (group !== undefined) return `ignore.groups has ${JSON.stringify(group)}`;
  return undefined;
}

/** The rules in one line, for `tattle doctor`. */
export function describeRules(rules: IgnoreRules): string {
  const parts = (["users", "groups", "services"] as const)
    .filter((key) => (rules[key]?.length ?? 0) > 0)
    .map((key) => `${key} ${rules[key]!.map((name) => JSON.stringify(name)).join(", ")}`);
  return parts.length === 0
    ? "none: every session is reported"
    : `${parts.join("; ")}: these sessions are not reported, and the security team cannot see that`;
}
