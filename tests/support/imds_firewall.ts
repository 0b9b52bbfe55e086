/**
 * contrib/nftables/tattle-imds.nft, loaded into this machine's kernel for a
 * fake IMDS on 127.0.0.1: the same rule (only root and tattle may connect),
 * its address narrowed to the fake's port so nothing else on the machine
 * is touched, in a table of the test's own, removed when disposed. Needs
 * root, nft and the tattle account (the rule names it).
 */

import { runChecked } from "./command.ts";
import { lacks } from "./requires.ts";
import { ROOT } from "./tattle.ts";

/** The contrib rule for an IMDS at 127.0.0.1:`port`, in table `table`. */
export async function imdsRuleFor(port: number, table: string): Promise<string> {
  const rule = await Deno.readTextFile(`${ROOT}contrib/nftables/tattle-imds.nft`);
  const adapted = rule
    .replace("table inet tattle_imds", `table inet ${table}`)
    .replace("ip daddr 169.254.169.254", `ip daddr 127.0.0.1 tcp dport ${port}`)
    .replace(/^.*ip6 daddr.*\n/m, "");
  if (adapted === rule || !adapted.includes(`tcp dport ${port}`)) {
    throw new Error("contrib/nftables/tattle-imds.nft no longer has the rule this test adapts");
  }
  return adapted;
}

/** Closes the fake IMDS at 127.0.0.1:`port` to every account but root and tattle. */
/** Runs nft. */
const nft = (args: string[], stdin?: string) => runChecked("/usr/sbin/nft", args, stdin);

export async function closeImdsToOthers(port: number) {
  if (lacks(["/usr/sbin/nft"], "apt-get install nftables")) {
    throw new Error("nft is missing: doctor's IMDS check cannot be tested");
  }
  const table = `tattle_test_${crypto.randomUUID().slice(0, 8)}`;
  await nft(["-f", "-"], await imdsRuleFor(port, table));
  return {
    [Symbol.asyncDispose]: () => nft(["delete", "table", "inet", table]).catch(() => {}),
  };
}
