import assert from "node:assert/strict";
import { recoverInvalidValue } from "../lib/capture/environment.ts";

Deno.test("invalid UTF-8 values are recovered from Deno's error message", () => {
  const message = (body: string) => `environment variable was not valid unicode: "${body}"`;
  assert.equal(recoverInvalidValue(message("bob\\xFF")), "bob\uFFFD");
  assert.equal(recoverInvalidValue(message("\\xED\\xA0\\x80x")), "\uFFFD\uFFFD\uFFFDx");
  assert.equal(
    recoverInvalidValue(message('a\\"b\\\\c\\n\\t\\u{1b}\\0')),
    'a"b\\c\n\t\u001b\u0000',
  );
  assert.equal(recoverInvalidValue(message("ünï\\xC3")), "ünï\uFFFD");
});

Deno.test("an unrecognised message gives a lone replacement character", () => {
  assert.equal(recoverInvalidValue("something else"), "\uFFFD");
  assert.equal(recoverInvalidValue(message("\\q")), "\uFFFD");
  assert.equal(recoverInvalidValue(message("\\xZZ")), "\uFFFD");
  function message(body: string) {
    return `environment variable was not valid unicode: "${body}"`;
  }
});
