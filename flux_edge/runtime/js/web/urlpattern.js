// URLPattern (WHATWG URL Pattern Standard), part 2: the constructor string parser, URLPatternInit
// processing, the canonicalizing encoders (the URL parser run with a state override on a dummy URL
// record) and the URLPattern class. Loaded on first use with urlpattern_parser.js; `shared` holds
// the URL internals (captured from __flux_url at prelude load) and part 1's exports.
(function (global, shared) {
  "use strict";

  const { TypeError, String, Object, Array } = global;
  const { S, basicParse, serializePath, isSpecialScheme, defaultPort, newRecord } = shared;
  const { percentEncode, toUSVString, USERINFO_SET, T, tokenize, compileComponent } = shared;
  const { escapePatternString } = shared;
  const { defineInterface } = shared.webutil;
  const FAILURE = null;

  const COMPONENTS = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"];
  const SPECIAL_SCHEMES = ["ftp", "file", "http", "https", "ws", "wss"];
  const DEFAULT_OPTIONS = { delimiter: "", prefix: "", ignoreCase: false };
  const HOSTNAME_OPTIONS = { delimiter: ".", prefix: "", ignoreCase: false };
  const PATHNAME_OPTIONS = { delimiter: "/", prefix: "/", ignoreCase: false };

  const invalid = (what, value) => new TypeError(`Invalid ${what} in URL pattern: ${JSON.stringify(value)}`);

  // ---- Canonicalizing encoders (URL Pattern "Canonicalization") ----------------------------------

  const runParser = (value, record, state, what) => {
    if (basicParse(value, null, record, state) === FAILURE) throw invalid(what, value);
    return record;
  };

  const canonicalizeProtocol = (value) => {
    if (value === "") return value;
    const record = basicParse(value + "://dummy.test");
    if (record === FAILURE) throw invalid("protocol", value);
    return record.scheme;
  };
  const canonicalizeUserinfo = (value) => percentEncode(value, USERINFO_SET);
  // Without a protocol, or with a special one, a hostname is a domain (IDNA, forbidden code points).
  const canonicalizeHostname = (value, protocol = undefined) => {
    if (value === "") return value;
    const record = newRecord();
    record.scheme = protocol === undefined || protocol === "" ? "https" : protocol;
    return runParser(value, record, S.HOSTNAME, "hostname").host ?? "";
  };
  const canonicalizeIPv6Hostname = (value) => {
    if (!/^[0-9a-fA-F[\]:]*$/.test(value)) throw invalid("IPv6 hostname", value);
    return value.toLowerCase();
  };
  // The port state with an override stops at the first non-digit, and keeps the port it had if
  // there was no digit before it: here that is a failure ("80x" is port 80, "x80" is invalid).
  const canonicalizePort = (value, protocol = undefined) => {
    if (value === "") return value;
    if (!/^[0-9]/.test(value.replace(/[\t\n\r]/g, ""))) throw invalid("port", value);
    const record = newRecord();
    if (protocol !== undefined) record.scheme = protocol;
    const port = runParser(value, record, S.PORT, "port").port;
    return port === null ? "" : String(port);
  };
  const canonicalizePathname = (value) => {
    if (value === "") return value;
    const leadingSlash = value[0] === "/";
    const record = runParser(leadingSlash ? value : "/-" + value, newRecord(), S.PATH_START, "pathname");
    const result = serializePath(record);
    return leadingSlash ? result : result.slice(2);
  };
  const canonicalizeOpaquePathname = (value) => {
    if (value === "") return value;
    const record = newRecord();
    record.path = "";
    return serializePath(runParser(value, record, S.OPAQUE_PATH, "pathname"));
  };
  const canonicalizeSearch = (value) => {
    if (value === "") return value;
    const record = newRecord();
    record.query = "";
    return runParser(value, record, S.QUERY, "search").query ?? "";
  };
  const canonicalizeHash = (value) => {
    if (value === "") return value;
    const record = newRecord();
    record.fragment = "";
    return runParser(value, record, S.FRAGMENT, "hash").fragment ?? "";
  };

  // ---- Constructor string parser ------------------------------------------------------------------

  const matchesSpecialScheme = (component) => SPECIAL_SCHEMES.some((scheme) => component.regexp.test(scheme));

  const parseConstructorString = (input) => {
    const chars = Array.from(input);
    const tokens = tokenize(input, true);
    const result = {};
    let componentStart = 0;
    let tokenIndex = 0;
    let tokenIncrement = 1;
    let groupDepth = 0;
    let ipv6Depth = 0;
    let specialScheme = false;
    let state = "init";

    const safeToken = (index) => tokens[index < tokens.length ? index : tokens.length - 1];
    const isNonSpecialChar = (index, value) => {
      const token = safeToken(index);
      return (
        token.value === value &&
        (token.type === T.CHAR || token.type === T.ESCAPED_CHAR || token.type === T.INVALID_CHAR)
      );
    };
    const isSearchPrefix = () => {
      if (isNonSpecialChar(tokenIndex, "?")) return true;
      if (tokens[tokenIndex].value !== "?") return false;
      if (tokenIndex === 0) return true;
      const previous = safeToken(tokenIndex - 1).type;
      return !(previous === T.NAME || previous === T.REGEXP || previous === T.CLOSE || previous === T.ASTERISK);
    };
    const isHashPrefix = () => isNonSpecialChar(tokenIndex, "#");
    const isPathnameStart = () => isNonSpecialChar(tokenIndex, "/");
    const componentString = () =>
      chars.slice(safeToken(componentStart).index, tokens[tokenIndex].index).join("");
    const rewind = () => {
      tokenIndex = componentStart;
      tokenIncrement = 0;
    };
    const before = (names, name) => names.includes(name);
    const changeState = (newState, skip) => {
      if (state !== "init" && state !== "authority" && state !== "done") result[state] = componentString();
      if (state !== "init" && newState !== "done") {
        const early = ["protocol", "authority", "username", "password"];
        if (before(early, state) && before(["port", "pathname", "search", "hash"], newState)) {
          result.hostname ??= "";
        }
        if (before([...early, "hostname", "port"], state) && before(["search", "hash"], newState)) {
          result.pathname ??= specialScheme ? "/" : "";
        }
        if (before([...early, "hostname", "port", "pathname"], state) && newState === "hash") {
          result.search ??= "";
        }
      }
      state = newState;
      tokenIndex += skip;
      componentStart = tokenIndex;
      tokenIncrement = 0;
    };

    while (tokenIndex < tokens.length) {
      tokenIncrement = 1;
      const token = tokens[tokenIndex];
      if (token.type === T.END) {
        if (state === "init") {
          rewind();
          if (isHashPrefix()) changeState("hash", 1);
          else if (isSearchPrefix()) changeState("search", 1);
          else changeState("pathname", 0);
          tokenIndex += tokenIncrement;
          continue;
        }
        if (state === "authority") {
          rewind();
          state = "hostname";
          tokenIndex += tokenIncrement;
          continue;
        }
        changeState("done", 0);
        break;
      }
      if (token.type === T.OPEN) {
        groupDepth++;
        tokenIndex += tokenIncrement;
        continue;
      }
      if (groupDepth > 0) {
        if (token.type === T.CLOSE) {
          groupDepth--;
        } else {
          tokenIndex += tokenIncrement;
          continue;
        }
      }
      switch (state) {
        case "init":
          if (isNonSpecialChar(tokenIndex, ":")) {
            rewind();
            state = "protocol";
          }
          break;
        case "protocol":
          if (isNonSpecialChar(tokenIndex, ":")) {
            specialScheme = matchesSpecialScheme(
              compileComponent(componentString(), canonicalizeProtocol, DEFAULT_OPTIONS),
            );
            if (isNonSpecialChar(tokenIndex + 1, "/") && isNonSpecialChar(tokenIndex + 2, "/")) {
              changeState("authority", 3);
            } else changeState(specialScheme ? "authority" : "pathname", 1);
          }
          break;
        case "authority":
          if (isNonSpecialChar(tokenIndex, "@")) {
            rewind();
            state = "username";
          } else if (isPathnameStart() || isSearchPrefix() || isHashPrefix()) {
            rewind();
            state = "hostname";
          }
          break;
        case "username":
          if (isNonSpecialChar(tokenIndex, ":")) changeState("password", 1);
          else if (isNonSpecialChar(tokenIndex, "@")) changeState("hostname", 1);
          break;
        case "password":
          if (isNonSpecialChar(tokenIndex, "@")) changeState("hostname", 1);
          break;
        case "hostname":
          if (isNonSpecialChar(tokenIndex, "[")) ipv6Depth++;
          else if (isNonSpecialChar(tokenIndex, "]")) ipv6Depth--;
          else if (isNonSpecialChar(tokenIndex, ":") && ipv6Depth === 0) changeState("port", 1);
          else if (isPathnameStart()) changeState("pathname", 0);
          else if (isSearchPrefix()) changeState("search", 1);
          else if (isHashPrefix()) changeState("hash", 1);
          break;
        case "port":
          if (isPathnameStart()) changeState("pathname", 0);
          else if (isSearchPrefix()) changeState("search", 1);
          else if (isHashPrefix()) changeState("hash", 1);
          break;
        case "pathname":
          if (isSearchPrefix()) changeState("search", 1);
          else if (isHashPrefix()) changeState("hash", 1);
          break;
        case "search":
          if (isHashPrefix()) changeState("hash", 1);
          break;
      }
      tokenIndex += tokenIncrement;
    }
    if (result.hostname !== undefined && result.port === undefined) result.port = "";
    return result;
  };

  // ---- URLPatternInit processing ------------------------------------------------------------------

  const isAbsolutePathname = (input, type) => {
    if (input === "") return false;
    if (input[0] === "/") return true;
    if (type === "url" || input.length < 2) return false;
    return (input[0] === "\\" || input[0] === "{") && input[1] === "/";
  };

  // `type` is "pattern" (patterns stay as written; base URL parts are escaped) or "url".
  const processInit = (init, type, defaults) => {
    const result = { ...defaults };
    const has = (...names) => names.some((name) => init[name] !== undefined);
    const fromBase = (value) => (type === "pattern" ? escapePatternString(value) : value);
    let base = null;
    if (init.baseURL !== undefined) {
      base = basicParse(init.baseURL);
      if (base === FAILURE) throw new TypeError(`Invalid base URL: ${JSON.stringify(init.baseURL)}`);
      if (!has("protocol")) result.protocol = fromBase(base.scheme);
      if (type !== "pattern" && !has("protocol", "hostname", "port", "username")) {
        result.username = fromBase(base.username);
      }
      if (type !== "pattern" && !has("protocol", "hostname", "port", "username", "password")) {
        result.password = fromBase(base.password);
      }
      if (!has("protocol", "hostname")) result.hostname = fromBase(base.host ?? "");
      if (!has("protocol", "hostname", "port")) result.port = base.port === null ? "" : String(base.port);
      if (!has("protocol", "hostname", "port", "pathname")) result.pathname = fromBase(serializePath(base));
      if (!has("protocol", "hostname", "port", "pathname", "search")) result.search = fromBase(base.query ?? "");
      if (!has("protocol", "hostname", "port", "pathname", "search", "hash")) {
        result.hash = fromBase(base.fragment ?? "");
      }
    }
    const pattern = type === "pattern";
    if (init.protocol !== undefined) {
      const stripped = init.protocol.endsWith(":") ? init.protocol.slice(0, -1) : init.protocol;
      result.protocol = pattern ? stripped : canonicalizeProtocol(stripped);
    }
    if (init.username !== undefined) result.username = pattern ? init.username : canonicalizeUserinfo(init.username);
    if (init.password !== undefined) result.password = pattern ? init.password : canonicalizeUserinfo(init.password);
    if (init.hostname !== undefined) {
      result.hostname = pattern ? init.hostname : canonicalizeHostname(init.hostname, result.protocol);
    }
    if (init.port !== undefined) result.port = pattern ? init.port : canonicalizePort(init.port, result.protocol);
    if (init.pathname !== undefined) {
      let pathname = init.pathname;
      if (base !== null && typeof base.path !== "string" && !isAbsolutePathname(pathname, type)) {
        const basePath = fromBase(serializePath(base));
        const slash = basePath.lastIndexOf("/");
        if (slash >= 0) pathname = basePath.slice(0, slash + 1) + pathname;
      }
      if (!pattern) {
        const special = result.protocol === undefined || result.protocol === "" || isSpecialScheme(result.protocol);
        pathname = special ? canonicalizePathname(pathname) : canonicalizeOpaquePathname(pathname);
      }
      result.pathname = pathname;
    }
    if (init.search !== undefined) {
      const stripped = init.search.startsWith("?") ? init.search.slice(1) : init.search;
      result.search = pattern ? stripped : canonicalizeSearch(stripped);
    }
    if (init.hash !== undefined) {
      const stripped = init.hash.startsWith("#") ? init.hash.slice(1) : init.hash;
      result.hash = pattern ? stripped : canonicalizeHash(stripped);
    }
    return result;
  };

  // WebIDL: a URLPatternInit dictionary (members read in lexicographic order) or a USVString.
  const INIT_MEMBERS = ["baseURL", "hash", "hostname", "password", "pathname", "port", "protocol", "search", "username"];
  const toInit = (value) => {
    const init = {};
    if (value === undefined || value === null) return init;
    for (const name of INIT_MEMBERS) {
      const member = value[name];
      if (member !== undefined) init[name] = toUSVString(member);
    }
    return init;
  };
  const isDictionary = (value) => value === undefined || value === null || typeof value === "object" || typeof value === "function";
  const toInput = (value) => (isDictionary(value) ? toInit(value) : toUSVString(value));

  const isIPv6Pattern = (input) =>
    input.length >= 2 && (input[0] === "[" || ((input[0] === "{" || input[0] === "\\") && input[1] === "["));

  // ---- URLPattern ---------------------------------------------------------------------------------

  class URLPattern {
    #components;

    constructor(input = undefined, baseURL = undefined, options = undefined) {
      let base = null;
      if (isDictionary(baseURL)) options = baseURL;
      else base = toUSVString(baseURL);
      const ignoreCase = Boolean(options?.ignoreCase);
      input = toInput(input);
      let init;
      if (typeof input === "string") {
        init = parseConstructorString(input);
        if (base === null && init.protocol === undefined) {
          throw new TypeError(`A relative URL pattern needs a base URL: ${JSON.stringify(input)}`);
        }
        if (base !== null) init.baseURL = base;
      } else {
        if (base !== null) throw new TypeError("A base URL cannot be given with a URLPatternInit");
        init = input;
      }
      const processed = processInit(init, "pattern", {});
      for (const name of COMPONENTS) processed[name] ??= "*";
      if (isSpecialScheme(processed.protocol) && processed.port === String(defaultPort(processed.protocol))) {
        processed.port = "";
      }
      const components = {};
      components.protocol = compileComponent(processed.protocol, canonicalizeProtocol, DEFAULT_OPTIONS);
      components.username = compileComponent(processed.username, canonicalizeUserinfo, DEFAULT_OPTIONS);
      components.password = compileComponent(processed.password, canonicalizeUserinfo, DEFAULT_OPTIONS);
      components.hostname = isIPv6Pattern(processed.hostname)
        ? compileComponent(processed.hostname, canonicalizeIPv6Hostname, HOSTNAME_OPTIONS)
        : compileComponent(processed.hostname, (value) => canonicalizeHostname(value), HOSTNAME_OPTIONS);
      components.port = compileComponent(processed.port, (value) => canonicalizePort(value), DEFAULT_OPTIONS);
      const options_ = { ...DEFAULT_OPTIONS, ignoreCase };
      components.pathname = matchesSpecialScheme(components.protocol)
        ? compileComponent(processed.pathname, canonicalizePathname, { ...PATHNAME_OPTIONS, ignoreCase })
        : compileComponent(processed.pathname, canonicalizeOpaquePathname, options_);
      components.search = compileComponent(processed.search, canonicalizeSearch, options_);
      components.hash = compileComponent(processed.hash, canonicalizeHash, options_);
      this.#components = components;
    }

    test(input = undefined, baseURL = undefined) {
      return this.#match(input, baseURL, arguments.length > 1) !== null;
    }

    exec(input = undefined, baseURL = undefined) {
      return this.#match(input, baseURL, arguments.length > 1);
    }

    get protocol() { return this.#components.protocol.patternString; }
    get username() { return this.#components.username.patternString; }
    get password() { return this.#components.password.patternString; }
    get hostname() { return this.#components.hostname.patternString; }
    get port() { return this.#components.port.patternString; }
    get pathname() { return this.#components.pathname.patternString; }
    get search() { return this.#components.search.patternString; }
    get hash() { return this.#components.hash.patternString; }
    get hasRegExpGroups() { return COMPONENTS.some((name) => this.#components[name].hasRegExpGroups); }

    #match(input, baseURL, baseGiven) {
      input = toInput(input);
      const base = baseGiven && baseURL !== undefined ? toUSVString(baseURL) : null;
      const inputs = base === null ? [input] : [input, base];
      let values;
      if (typeof input !== "string") {
        if (base !== null) throw new TypeError("A base URL cannot be given with a URLPatternInit");
        try {
          values = processInit(input, "url", Object.fromEntries(COMPONENTS.map((name) => [name, ""])));
        } catch (error) {
          if (error instanceof TypeError) return null;
          throw error;
        }
      } else {
        let baseRecord = null;
        if (base !== null) {
          baseRecord = basicParse(base);
          if (baseRecord === FAILURE) return null;
        }
        const url = basicParse(input, baseRecord);
        if (url === FAILURE) return null;
        values = {
          protocol: url.scheme,
          username: url.username,
          password: url.password,
          hostname: url.host ?? "",
          port: url.port === null ? "" : String(url.port),
          pathname: serializePath(url),
          search: url.query ?? "",
          hash: url.fragment ?? "",
        };
      }
      const result = { inputs };
      for (const name of COMPONENTS) {
        const component = this.#components[name];
        const match = component.regexp.exec(values[name]);
        if (match === null) return null;
        const groups = {};
        for (let index = 1; index < match.length; index++) groups[component.names[index - 1]] = match[index];
        result[name] = { input: values[name], groups };
      }
      return result;
    }
  }

  defineInterface("URLPattern", URLPattern);
  return { URLPattern };
});
