/**
 * A throwaway copy of this machine for tests that install packages: a mount
 * namespace where /etc, /usr, /var and /run are overlays on the real ones.
 * Whatever dpkg, a maintainer script or a login writes there lands in the
 * overlays' upper directories, which the test can list and which go with
 * it; the machine itself is never changed, even by a test that fails
 * halfway. The network is the machine's: a daemon started inside listens
 * on its 127.0.0.1. Needs root.
 *
 * @module
 */

import { type Output, sh } from "./host.ts";

/** What commands run inside find programs in: an administrator's, as dpkg wants it. */
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The directories overlaid. */
export const OVERLAID = ["/etc", "/usr", "/var", "/run"] as const;

/** A machine copy, as {@link overlayHost} returns it. */
export interface OverlayHost extends AsyncDisposable {
  /** The process that holds the namespace. */
  pid: number;
  /** Runs a command inside; throws on a non-zero exit unless `check` is false. */
  run(program: string, args: string[], options?: { check?: boolean }): Promise<Output>;
  /** The command line prefix that runs a command inside (for a process the test starts). */
  enter: string[];
  /** A path inside, as the test process reaches it. */
  path(path: string): string;
  /**
   * Every path written or made inside (the overlays' upper directories),
   * not those removed (their whiteouts).
   */
  changed(): string[];
}

/** Makes the copy; `dir` holds the overlays' upper and work directories. */
export async function overlayHost(dir: string): Promise<OverlayHost> {
  const mounts = OVERLAID.map((target) => {
    const name = target.slice(1);
    return `mkdir -p ${dir}/upper/${name} ${dir}/work/${name} && ` +
      `mount -t overlay overlay -o lowerdir=${target},upperdir=${dir}/upper/${name},` +
      `workdir=${dir}/work/${name} ${target}`;
  }).join(" && ");
  // The holder keeps the namespace for the test's life; everything inside is its child's kin.
  const holder = new Deno.Command("/usr/bin/unshare", {
    args: [
      "--mount",
      "--propagation=private",
      "/bin/sh",
      "-c",
      `${mounts} && echo ready && exec sleep infinity`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = holder.stdout.getReader();
  const first = await reader.read();
  if (!new TextDecoder().decode(first.value ?? new Uint8Array()).includes("ready")) {
    const stderr = await new Response(holder.stderr).text();
    throw new Error(`could not make the overlays: ${stderr}`);
  }
  reader.releaseLock();
  const pid = holder.pid;
  const enter = ["/usr/bin/nsenter", `--target=${pid}`, "--mount", "--"];
  const namespace = Deno.readLinkSync(`/proc/${pid}/ns/mnt`);
  return {
    pid,
    enter,
    run: (program, args, options) =>
      sh(enter[0], [...enter.slice(1), program, ...args], { ...options, env: { PATH } }),
    path: (path) => `/proc/${pid}/root${path}`,
    changed() {
      const paths: string[] = [];
      const walk = (upper: string, inside: string) => {
        for (const entry of Deno.readDirSync(upper)) {
          // A whiteout (a character device 0:0) records a removal, not a file.
          if (Deno.lstatSync(`${upper}/${entry.name}`).isCharDevice) continue;
          paths.push(`${inside}/${entry.name}`);
          if (entry.isDirectory) walk(`${upper}/${entry.name}`, `${inside}/${entry.name}`);
        }
      };
      for (const target of OVERLAID) walk(`${dir}/upper${target}`, target);
      return paths;
    },
    async [Symbol.asyncDispose]() {
      // Every process left inside (a daemon, a sender), then the holder.
      for (const entry of Deno.readDirSync("/proc")) {
        if (!/^\d+$/.test(entry.name) || Number(entry.name) === pid) continue;
        try {
          if (Deno.readLinkSync(`/proc/${entry.name}/ns/mnt`) === namespace) {
            Deno.kill(Number(entry.name), "SIGKILL");
          }
        } catch {
          // gone, or not ours to look at
        }
      }
      holder.kill("SIGKILL");
      await holder.status;
      await holder.stderr.cancel().catch(() => {});
      await holder.stdout.cancel().catch(() => {});
    },
  };
}
