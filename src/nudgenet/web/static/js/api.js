// The JSON API of `nudgenet serve`: GET without a body, POST JSON with one.

// Resolves to the response's JSON; rejects with an Error that carries the server's
// message, its HTTP status and its hint (`help`), if any.
export async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
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
    throw error;
  }
  return data;
}

// An API error as one sentence for the page, with the server's hint if it gave one.
export function explain(error) {
  return error.help ? `${error.message} (${error.help})` : error.message;
}
