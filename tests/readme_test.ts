/**
 * The README, as operators read it: no line over 120 columns outside code
 * blocks (long tables are lists), the sections in the order an operator
 * needs them, and no words about how the project was made.
 */

import assert from "node:assert/strict";
import { ROOT } from "./support/tattle.ts";

const readme = await Deno.readTextFile(`${ROOT}README.md`);

Deno.test("README: no line over 120 columns outside code blocks", () => {
  let fenced = false;
  const wide: string[] = [];
  for (const [index, line] of readme.split("\n").entries()) {
    if (line.startsWith("```")) fenced = !fenced;
    else if (!fenced && line.length > 120) wide.push(`line ${index + 1}: ${line.length} columns`);
  }
  assert.deepEqual(wide, []);
});

Deno.test("README: an operator's order, reference after, development last", () => {
  const headings = readme.split("\n").filter((l) => l.startsWith("## ")).map((l) => l.slice(3));
  const order = [
    "Install",
    "Add tattle to sshd's PAM stack",
    "IAM: let the instances publish",
    "Alerts",
    "Check",
    "When AWS is down",
    "Upgrade",
    "Uninstall",
    "A fleet",
    "Reference",
    "Configuration",
    "The event",
    "Failure behaviour and exit codes",
    "Security",
    "The package",
    "How it is tested",
    "Development",
    "License",
  ];
  const positions = order.map((heading) => headings.indexOf(heading));
  assert(!positions.includes(-1), `missing: ${order.filter((_, i) => positions[i] < 0)}`);
  assert.deepEqual([...positions].sort((a, b) => a - b), positions, headings.join(" / "));
});

Deno.test("README: no words of how the project was made", () => {
  for (const words of [/\bseed\b/i, /design card/i, /shared\/peer/]) {
    assert.doesNotMatch(readme, words);
  }
});
