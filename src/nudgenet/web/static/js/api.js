// The JSON API of `nudgenet serve`: GET without a body, POST JSON with one.
//
// Every request goes through api(), so that one place knows whether the server is there:
// a request that gets no answer at all marks it as stopped (see connection.js), and the
// panels stop asking until it answers again.

import { connection } from "./connection.js";

// Resolves to the response's JSON; rejects with an Error that carries the server's
// message, its HTTP status, its hint (`help`) and pydantic's `detail`, if any; an Error
// with `offline` set when the server did not answer.
export async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    connection.lost();
    const error = new Error("The server has stopped: nudgenet serve is not running.");
    error.offline = true;
    error.help = "start it again (nudgenet serve); this page reconnects by itself";
    throw error;
  }
  connection.answered();
  let data;
  try {
    data = await response.json();
  } catch {
    data = { error: response.statusText };
  }
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    error.help = data.help;
    error.detail = data.detail;
    throw error;
  }
  return data;
}

// The command line's and the API's words, as the page names the same things.
const PAGE_WORDS = [
  [/POST \/api\/train\/stop/g, "the Stop button"],
  [/POST \/api\/train/g, "the Start button"],
  [/--lr\b/g, "learning rate η"],
  [/--batch-size\b/g, "batch size"],
  [/--epochs\b/g, "epochs"],
  [/--schedule\b/g, "schedule"],
  [/--momentum\b/g, "momentum"],
  [/--l2\b/g, "L2"],
  [/--hidden\b/g, "hidden layers"],
  [/--train-size\b/g, "training images"],
  [/--seed\b/g, "seed"],
  [/ \(invert=True\/False\)/g, ""],
  [/see the request schemas in \/openapi\.json/g, ""],
];

// Rewrite a message in the page's words: form labels for flags and fields, buttons for routes.
export function pageWords(text) {
  let out = String(text || "");
  for (const [pattern, words] of PAGE_WORDS) out = out.replace(pattern, words);
  return out.replace(/\s+\(\)/g, "").trim();
}

// pydantic's "Input should be less than or equal to 20" as "must be at most 20".
function shortRule(msg) {
  return msg
    .replace(/^Value error, /, "")
    .replace(/^Input should be less than or equal to (.*)$/, "must be at most $1")
    .replace(/^Input should be greater than or equal to (.*)$/, "must be at least $1")
    .replace(/^Input should be less than (.*)$/, "must be below $1")
    .replace(/^Input should be greater than (.*)$/, "must be above $1")
    .replace(/^Input should be a valid (\w+).*$/, "must be a whole $1");
}

// An API error as one sentence for the page, with the server's hint if it gave one.
// labels(field, index) names a request field as the page's form does (e.g. "hidden layers,
// layer 1" for hidden.0); without it, fields keep the API's names.
export function explain(error, labels = null) {
  if (error.detail && labels) {
    return error.detail
      .map((d) => {
        const [, field, index] = d.loc;
        return `${labels(field, index)} ${shortRule(d.msg)}`;
      })
      .join("; ") + ".";
  }
  const help = pageWords(error.help);
  const message = pageWords(error.message);
  return help ? `${message} (${help})` : message;
}
