/**
 * Trusting a path only if only root (or the sender's account) can change
 * it, as sshd's StrictModes does (I/O).
 *
 * @module
 */

import { SENDER_ACCOUNT, senderAccount } from "../host/accounts.ts";
import { configError } from "../util/errors.ts";

/** The file system facts the check needs; Deno's in production. */
export interface TrustFs {
  realPath(path: string): Promise<string>;
  lstat(path: string): Promise<Deno.FileInfo>;
  /** Whether `uid` may own what tattle trusts: root, the running user, the sender's account. */
  trustedOwner(uid: number): Promise<boolean>;
  /** Whether the runtime lets tattle look at `path`. */
  mayRead(path: string): boolean;
}

let sender: Promise<number | undefined> | undefined;

/** Root, the running user, and the sender's account (looked up once, when first needed). */
export function trustedOwner(uid: number): Promise<boolean> {
  if (uid === 0 || uid === Deno.uid()) return Promise.resolve(true);
  sender ??= senderAccount().then((account) => account?.uid, () => undefined);
  return sender.then((senderUid) => uid === senderUid);
}

const denoFs: TrustFs = {
  realPath: Deno.realPath,
  lstat: Deno.lstat,
  trustedOwner,
  mayRead: (path) => Deno.permissions.querySync({ name: "read", path }).state === "granted",
};

const STICKY = 0o1000;

/**
 * Checks `path` and each directory above it: owned by root, the running
 * user or the sender's account, and not writable by group or others (a
 * sticky directory such as /tmp may be, as its entries can only be replaced
 * by their owners).
 *
 * The runtime's read permission is recursive, so letting tattle stat `/etc`
 * would let it read /etc/shadow: directories above the permission set's own
 * paths (/etc, /var/spool, /run, /) are left unchecked.
 *
 * @throws {TattleError} exit 78 naming the path and the problem.
 */
export async function assertTrusted(
  path: string,
  what: string,
  fs: TrustFs = denoFs,
): Promise<void> {
  let real: string;
  try {
    real = await fs.realPath(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return; // nothing there to trust yet
    throw error;
  }
  const parts = real.split("/").filter(Boolean);
  const paths = parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
  paths.unshift("/");
  // Looked at together (they are independent), judged in order from the root down.
  const infos = await Promise.all(paths.map((p) => fs.mayRead(p) ? fs.lstat(p) : undefined));
  for (const [index, p] of paths.entries()) {
    const info = infos[index];
    if (!info) continue;
    const mode = info.mode ?? 0;
    const owner = info.uid ?? 0;
    if (!(await fs.trustedOwner(owner))) {
      throw configError(
        `${what} ${path} is not trusted: ${p} is owned by uid ${owner}, not root or ` +
          `${SENDER_ACCOUNT}; fix with chown root ${p}`,
      );
    }
    const isTarget = index === paths.length - 1;
    const sharedDir = info.isDirectory && (mode & STICKY) !== 0 && !isTarget;
    if ((mode & 0o022) !== 0 && !sharedDir) {
      throw configError(
        `${what} ${path} is not trusted: ${p} is writable by group or others; fix with chmod go-w ${p}`,
      );
    }
  }
}
