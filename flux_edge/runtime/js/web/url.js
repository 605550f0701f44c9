// URL (WHATWG URL Standard, "API"): the URL class over the record, parser and serializers of
// url_parser.js, with its searchParams bound to a URLSearchParams (url_search_params.js).
// The last of the URL files: it captures the internal global __flux_url and deletes it.
(function (global) {
  "use strict";

  const { defineHidden, defineInterface, requireArguments, uncloneable } = global.__flux_webutil;
  const internals = global.__flux_url;
  delete global.__flux_url;
  const { S, basicParse, serializeURL, serializePath, serializeOrigin } = internals;
  const { hasOpaquePath, cannotHaveCredentialsOrPort } = internals;
  const { percentEncode, toUSVString, USERINFO_SET } = internals;
  const { URLSearchParams, bindSearchParams, replaceSearchParams } = internals;
  // For request_response.js: an incoming request's URL that needs no parsing.
  defineHidden(global.__flux_web, "isSerializedURL", internals.isSerializedURL);
  const FAILURE = null;

  const parseOrThrow = (url, base) => {
    let baseRecord = null;
    if (base !== undefined) {
      baseRecord = basicParse(toUSVString(base));
      if (baseRecord === FAILURE) throw new TypeError(`Invalid base URL: ${String(base)}`);
    }
    const record = basicParse(toUSVString(url), baseRecord);
    if (record === FAILURE) throw new TypeError(`Invalid URL: ${String(url)}`);
    return record;
  };

  class URL {
    #record;
    #searchParams = null; // made on first use: most URLs never have their query parsed

    constructor(url, base = undefined) {
      requireArguments(arguments.length, 1, "URL");
      this.#record = parseOrThrow(url, base);
    }

    static canParse(url, base = undefined) {
      requireArguments(arguments.length, 1, "canParse");
      try {
        parseOrThrow(url, base);
        return true;
      } catch {
        return false;
      }
    }

    static parse(url, base = undefined) {
      requireArguments(arguments.length, 1, "parse");
      try {
        return new URL(url, base);
      } catch {
        return null;
      }
    }

    get href() {
      return serializeURL(this.#record);
    }

    set href(value) {
      const record = basicParse(toUSVString(value));
      if (record === FAILURE) throw new TypeError(`Invalid URL: ${String(value)}`);
      // In place, so the bound URLSearchParams keeps pointing at this URL's record.
      Object.assign(this.#record, record);
      if (this.#searchParams !== null) replaceSearchParams(this.#searchParams, this.#record.query);
    }

    get origin() {
      return serializeOrigin(this.#record);
    }

    get protocol() {
      return this.#record.scheme + ":";
    }

    set protocol(value) {
      this.#editRecord(toUSVString(value) + ":", S.SCHEME_START);
    }

    get username() {
      return this.#record.username;
    }

    set username(value) {
      if (cannotHaveCredentialsOrPort(this.#record)) return;
      this.#record.username = percentEncode(toUSVString(value), USERINFO_SET);
    }

    get password() {
      return this.#record.password;
    }

    set password(value) {
      if (cannotHaveCredentialsOrPort(this.#record)) return;
      this.#record.password = percentEncode(toUSVString(value), USERINFO_SET);
    }

    get host() {
      const { host, port } = this.#record;
      if (host === null) return "";
      return port === null ? host : host + ":" + port;
    }

    set host(value) {
      if (hasOpaquePath(this.#record)) return;
      this.#editRecord(toUSVString(value), S.HOST);
    }

    get hostname() {
      return this.#record.host ?? "";
    }

    set hostname(value) {
      if (hasOpaquePath(this.#record)) return;
      this.#editRecord(toUSVString(value), S.HOSTNAME);
    }

    get port() {
      return this.#record.port === null ? "" : String(this.#record.port);
    }

    set port(value) {
      if (cannotHaveCredentialsOrPort(this.#record)) return;
      const input = toUSVString(value);
      if (input === "") this.#record.port = null;
      else this.#editRecord(input, S.PORT);
    }

    get pathname() {
      return serializePath(this.#record);
    }

    set pathname(value) {
      if (hasOpaquePath(this.#record)) return;
      this.#editRecord(toUSVString(value), S.PATH_START, { path: [] });
    }

    get search() {
      const query = this.#record.query;
      return query === null || query === "" ? "" : "?" + query;
    }

    set search(value) {
      const input = toUSVString(value);
      if (input === "") {
        this.#record.query = null;
        if (this.#searchParams !== null) replaceSearchParams(this.#searchParams, null);
        return;
      }
      const query = input.startsWith("?") ? input.slice(1) : input;
      this.#editRecord(query, S.QUERY, { query: "" });
      if (this.#searchParams !== null) replaceSearchParams(this.#searchParams, query);
    }

    get searchParams() {
      if (this.#searchParams === null) {
        this.#searchParams = new URLSearchParams();
        replaceSearchParams(this.#searchParams, this.#record.query);
        bindSearchParams(this.#searchParams, this.#record);
      }
      return this.#searchParams;
    }

    get hash() {
      const fragment = this.#record.fragment;
      return fragment === null || fragment === "" ? "" : "#" + fragment;
    }

    set hash(value) {
      const input = toUSVString(value);
      if (input === "") {
        this.#record.fragment = null;
        return;
      }
      const fragment = input.startsWith("#") ? input.slice(1) : input;
      this.#editRecord(fragment, S.FRAGMENT, { fragment: "" });
    }

    toString() {
      return this.href;
    }

    static {
      // structuredClone refuses URLs, as platform objects that are not serializable.
      uncloneable.push(
        (value) => value !== null && typeof value === "object" && #record in value,
      );
    }

    toJSON() {
      return this.href;
    }

    // Setters run the parser in place, as the standard does: a failure can leave earlier parts
    // applied (host "example.com:99999" still sets the hostname).
    #editRecord(input, stateOverride, changes = {}) {
      Object.assign(this.#record, changes);
      basicParse(input, null, this.#record, stateOverride);
    }
  }

  defineInterface("URL", URL);
})(globalThis);
