// Calls flux-edge through the real Supabase clients, exactly as an application would: no custom
// fetch, no URL rewriting. Driven by tests/e2e/test_supabase_clients.py.
//
// Usage: node supabase_invoke.mjs < plan.json
//   plan = { url, key, client: "functions-js" | "supabase-js", jwt?, calls: [call] }
//   call = { name, method?, headers?, region?, body?: { kind: "json" | "text" | "bytes" | "blob" | "form", value } }
//          ("bytes" and "blob" values are base64; "bytes" is sent as an ArrayBuffer; "form" is
//          FormData of text fields and files { name, type, base64 })
// Prints one JSON array: for each call its data (or error) as the client returned it.
import { FunctionsClient, FunctionsHttpError, FunctionsRelayError, FunctionsFetchError } from "@supabase/functions-js";
import { createClient } from "@supabase/supabase-js";
import WebSocket from "ws";

function functionsOf(plan) {
  if (plan.client === "supabase-js") {
    // The application's setup: project URL and anon key; a signed-in user's JWT, when there is one,
    // goes in the Authorization header the way supabase-js documents for server-side use.
    // Node before 22 has no WebSocket: supabase-js asks for the `ws` package as realtime's transport
    // (realtime is not used here; the client refuses to start without one).
    const options = {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: WebSocket },
    };
    if (plan.jwt) options.global = { headers: { Authorization: `Bearer ${plan.jwt}` } };
    return createClient(plan.url, plan.key, options).functions;
  }
  const client = new FunctionsClient(`${plan.url}/functions/v1`, {
    headers: { Authorization: `Bearer ${plan.key}`, apikey: plan.key },
  });
  if (plan.jwt) client.setAuth(plan.jwt);
  return client;
}

function bodyOf(spec) {
  if (!spec) return undefined;
  switch (spec.kind) {
    case "json":
      return spec.value;
    case "text":
      return spec.value;
    case "bytes": {
      const bytes = Buffer.from(spec.value, "base64");
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
    case "blob":
      return new Blob([Buffer.from(spec.value, "base64")], { type: "application/octet-stream" });
    case "form": {
      // value: { fieldName: text, ... , file?: { name, type, base64 } }
      const form = new FormData();
      for (const [key, item] of Object.entries(spec.value)) {
        if (typeof item === "string") form.append(key, item);
        else form.append(key, new Blob([Buffer.from(item.base64, "base64")], { type: item.type }), item.name);
      }
      return form;
    }
    default:
      throw new Error(`unknown body kind ${spec.kind}`);
  }
}

async function describeData(data) {
  if (data instanceof Blob) {
    return { kind: "blob", type: data.type, base64: Buffer.from(await data.arrayBuffer()).toString("base64") };
  }
  if (typeof data === "string") return { kind: "text", value: data };
  return { kind: "json", value: data };
}

function errorClass(error) {
  if (error instanceof FunctionsRelayError) return "FunctionsRelayError";
  if (error instanceof FunctionsHttpError) return "FunctionsHttpError";
  if (error instanceof FunctionsFetchError) return "FunctionsFetchError";
  return error?.constructor?.name ?? "unknown";
}

async function run(functions, call) {
  const options = {};
  if (call.method) options.method = call.method;
  if (call.headers) options.headers = call.headers;
  if (call.region) options.region = call.region;
  const body = bodyOf(call.body);
  if (body !== undefined) options.body = body;
  const { data, error, response } = await functions.invoke(call.name, options);
  if (error) {
    const context = error.context;
    const described = { class: errorClass(error), message: error.message };
    if (context instanceof Response) {
      described.status = context.status;
      described.relayHeader = context.headers.get("x-relay-error");
      described.body = await context.text();
    }
    return { error: described, status: response?.status ?? null };
  }
  return {
    data: await describeData(data),
    status: response.status,
    contentType: response.headers.get("content-type"),
    executionId: response.headers.get("x-flux-execution-id"),
  };
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const plan = JSON.parse(input);
const functions = functionsOf(plan);
const results = [];
for (const call of plan.calls) results.push(await run(functions, call));
process.stdout.write(JSON.stringify(results));
