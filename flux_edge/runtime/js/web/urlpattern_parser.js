// URLPattern (WHATWG URL Pattern Standard), part 1: the tokenizer, the pattern parser (a pattern
// string to a part list), and what is generated from a part list (the regular expression with its
// group names, and the canonical pattern string). Loaded on first use of URLPattern (webapi.py's
// LAZY_WEB_FILES): a function expression called with the global and the group's shared object,
// to which it adds `compileComponent` and the helpers urlpattern.js needs.
(function (global, shared) {
  "use strict";

  const { RegExp, TypeError, String, Array } = global;

  // ---- Tokenizer ----------------------------------------------------------------------------------

  const T = {
    OPEN: "open",
    CLOSE: "close",
    REGEXP: "regexp",
    NAME: "name",
    CHAR: "char",
    ESCAPED_CHAR: "escaped-char",
    OTHER_MODIFIER: "other-modifier",
    ASTERISK: "asterisk",
    END: "end",
    INVALID_CHAR: "invalid-char",
  };

  const ID_START = /^[\p{ID_Start}$_]$/u;
  const ID_CONTINUE = /^[\p{ID_Continue}$\u200c\u200d]$/u;
  const isValidNameCodePoint = (char, first) => (first ? ID_START : ID_CONTINUE).test(char);
  const isAsciiChar = (char) => char.codePointAt(0) < 0x80;

  // Token indexes count code points, as the standard's do.
  const tokenize = (input, lenient) => {
    const chars = Array.from(input);
    const tokens = [];
    let index = 0;
    const add = (type, next, valueStart, valueLength = next - valueStart) => {
      tokens.push({ type, index, value: chars.slice(valueStart, valueStart + valueLength).join("") });
      index = next;
    };
    const error = (next, valueStart) => {
      if (!lenient) throw new TypeError(`Invalid URL pattern ${JSON.stringify(input)} at ${valueStart}`);
      add(T.INVALID_CHAR, next, valueStart);
    };
    while (index < chars.length) {
      const char = chars[index];
      if (char === "*") add(T.ASTERISK, index + 1, index);
      else if (char === "+" || char === "?") add(T.OTHER_MODIFIER, index + 1, index);
      else if (char === "\\") {
        if (index === chars.length - 1) error(index + 1, index);
        else add(T.ESCAPED_CHAR, index + 2, index + 1);
      } else if (char === "{") add(T.OPEN, index + 1, index);
      else if (char === "}") add(T.CLOSE, index + 1, index);
      else if (char === ":") {
        const nameStart = index + 1;
        let position = nameStart;
        while (position < chars.length && isValidNameCodePoint(chars[position], position === nameStart)) position++;
        if (position <= nameStart) error(nameStart, index);
        else add(T.NAME, position, nameStart);
      } else if (char === "(") {
        const regexpStart = index + 1;
        let position = regexpStart;
        let depth = 1;
        let failed = false;
        while (position < chars.length) {
          const c = chars[position];
          if (!isAsciiChar(c) || (position === regexpStart && c === "?")) {
            failed = true;
            break;
          }
          if (c === "\\") {
            if (position === chars.length - 1 || !isAsciiChar(chars[position + 1])) {
              failed = true;
              break;
            }
            position += 2;
            continue;
          }
          if (c === ")") {
            depth--;
            if (depth === 0) {
              position++;
              break;
            }
          } else if (c === "(") {
            depth++;
            if (position === chars.length - 1 || chars[position + 1] !== "?") {
              failed = true;
              break;
            }
          }
          position++;
        }
        if (failed || depth !== 0 || position - regexpStart - 1 === 0) {
          error(regexpStart, index);
          continue;
        }
        add(T.REGEXP, position, regexpStart, position - regexpStart - 1);
      } else add(T.CHAR, index + 1, index);
    }
    add(T.END, index, index);
    return tokens;
  };

  // ---- Parser -------------------------------------------------------------------------------------

  const P = { FIXED: "fixed-text", REGEXP: "regexp", SEGMENT: "segment-wildcard", FULL: "full-wildcard" };
  const FULL_WILDCARD = ".*";
  const MODIFIERS = { "?": "?", "*": "*", "+": "+" };

  const escapeRegExpString = (string) => string.replace(/[.+*?^${}()[\]|/\\]/g, "\\$&");
  const escapePatternString = (string) => string.replace(/[+*?:{}()\\]/g, "\\$&");
  const segmentWildcard = (options) => "[^" + escapeRegExpString(options.delimiter) + "]+?";

  const parsePatternString = (input, options, encode) => {
    const tokens = tokenize(input, false);
    const parts = [];
    const segment = segmentWildcard(options);
    let pending = "";
    let index = 0;
    let nextNumericName = 0;
    const tryConsume = (type) => (tokens[index].type === type ? tokens[index++] : null);
    const consumeRequired = (type) => {
      const token = tryConsume(type);
      if (token === null) throw new TypeError(`Invalid URL pattern ${JSON.stringify(input)}: expected ${type}`);
      return token;
    };
    const tryConsumeModifier = () => tryConsume(T.OTHER_MODIFIER) ?? tryConsume(T.ASTERISK);
    const tryConsumeRegexpOrWildcard = (name) => {
      const token = tryConsume(T.REGEXP);
      return name === null && token === null ? tryConsume(T.ASTERISK) : token;
    };
    const consumeText = () => {
      let result = "";
      for (;;) {
        const token = tryConsume(T.CHAR) ?? tryConsume(T.ESCAPED_CHAR);
        if (token === null) return result;
        result += token.value;
      }
    };
    const flushPending = () => {
      if (pending === "") return;
      parts.push({ type: P.FIXED, value: encode(pending), modifier: "", name: "", prefix: "", suffix: "" });
      pending = "";
    };
    const addPart = (prefix, nameToken, regexpToken, suffix, modifierToken) => {
      const modifier = modifierToken === null ? "" : MODIFIERS[modifierToken.value];
      if (nameToken === null && regexpToken === null && modifier === "") {
        pending += prefix;
        return;
      }
      flushPending();
      if (nameToken === null && regexpToken === null) {
        if (prefix === "") return;
        parts.push({ type: P.FIXED, value: encode(prefix), modifier, name: "", prefix: "", suffix: "" });
        return;
      }
      let value =
        regexpToken === null ? segment : regexpToken.type === T.ASTERISK ? FULL_WILDCARD : regexpToken.value;
      let type = P.REGEXP;
      if (value === segment) [type, value] = [P.SEGMENT, ""];
      else if (value === FULL_WILDCARD) [type, value] = [P.FULL, ""];
      const name = nameToken !== null ? nameToken.value : String(nextNumericName++);
      if (parts.some((part) => part.name === name)) {
        throw new TypeError(`Invalid URL pattern ${JSON.stringify(input)}: duplicate group name "${name}"`);
      }
      parts.push({ type, value, modifier, name, prefix: encode(prefix), suffix: encode(suffix) });
    };
    while (index < tokens.length) {
      const charToken = tryConsume(T.CHAR);
      const nameToken = tryConsume(T.NAME);
      const regexpToken = tryConsumeRegexpOrWildcard(nameToken);
      if (nameToken !== null || regexpToken !== null) {
        let prefix = charToken === null ? "" : charToken.value;
        if (prefix !== "" && prefix !== options.prefix) {
          pending += prefix;
          prefix = "";
        }
        flushPending();
        addPart(prefix, nameToken, regexpToken, "", tryConsumeModifier());
        continue;
      }
      const fixedToken = charToken ?? tryConsume(T.ESCAPED_CHAR);
      if (fixedToken !== null) {
        pending += fixedToken.value;
        continue;
      }
      if (tryConsume(T.OPEN) !== null) {
        const prefix = consumeText();
        const name = tryConsume(T.NAME);
        const regexp = tryConsumeRegexpOrWildcard(name);
        const suffix = consumeText();
        consumeRequired(T.CLOSE);
        addPart(prefix, name, regexp, suffix, tryConsumeModifier());
        continue;
      }
      flushPending();
      consumeRequired(T.END);
    }
    return parts;
  };

  // ---- Generation ---------------------------------------------------------------------------------

  const generateRegExp = (parts, options) => {
    let result = "^";
    const names = [];
    for (const part of parts) {
      const modifier = part.modifier;
      if (part.type === P.FIXED) {
        result += modifier === "" ? escapeRegExpString(part.value) : `(?:${escapeRegExpString(part.value)})${modifier}`;
        continue;
      }
      names.push(part.name);
      const value =
        part.type === P.SEGMENT ? segmentWildcard(options) : part.type === P.FULL ? FULL_WILDCARD : part.value;
      const repeated = modifier === "*" || modifier === "+";
      if (part.prefix === "" && part.suffix === "") {
        result += repeated ? `((?:${value})${modifier})` : `(${value})${modifier}`;
        continue;
      }
      const prefix = escapeRegExpString(part.prefix);
      const suffix = escapeRegExpString(part.suffix);
      if (!repeated) {
        result += `(?:${prefix}(${value})${suffix})${modifier}`;
        continue;
      }
      result += `(?:${prefix}((?:${value})(?:${suffix}${prefix}(?:${value}))*)${suffix})`;
      if (modifier === "*") result += "?";
    }
    return { source: result + "$", names };
  };

  const isAsciiDigit = (char) => char !== undefined && char >= "0" && char <= "9";

  const generatePatternString = (parts, options) => {
    let result = "";
    for (let index = 0; index < parts.length; index++) {
      const part = parts[index];
      const previous = index > 0 ? parts[index - 1] : null;
      const next = index + 1 < parts.length ? parts[index + 1] : null;
      if (part.type === P.FIXED) {
        const escaped = escapePatternString(part.value);
        result += part.modifier === "" ? escaped : `{${escaped}}${part.modifier}`;
        continue;
      }
      const customName = !isAsciiDigit(part.name[0]);
      let needsGrouping = part.suffix !== "" || (part.prefix !== "" && part.prefix !== options.prefix);
      if (
        !needsGrouping &&
        customName &&
        part.type === P.SEGMENT &&
        part.modifier === "" &&
        next !== null &&
        next.prefix === "" &&
        next.suffix === ""
      ) {
        needsGrouping =
          next.type === P.FIXED
            ? next.value !== "" && isValidNameCodePoint(Array.from(next.value)[0], false)
            : isAsciiDigit(next.name[0]);
      }
      if (
        !needsGrouping &&
        part.prefix === "" &&
        previous !== null &&
        previous.type === P.FIXED &&
        previous.value !== "" &&
        Array.from(previous.value).at(-1) === options.prefix
      ) {
        needsGrouping = true;
      }
      if (needsGrouping) result += "{";
      result += escapePatternString(part.prefix);
      if (customName) result += ":" + part.name;
      if (part.type === P.REGEXP) result += `(${part.value})`;
      else if (part.type === P.SEGMENT && !customName) result += `(${segmentWildcard(options)})`;
      else if (part.type === P.FULL) {
        const plain =
          !customName &&
          (previous === null ||
            previous.type === P.FIXED ||
            previous.modifier !== "" ||
            needsGrouping ||
            part.prefix !== "");
        result += plain ? "*" : `(${FULL_WILDCARD})`;
      }
      if (
        part.type === P.SEGMENT &&
        customName &&
        part.suffix !== "" &&
        isValidNameCodePoint(Array.from(part.suffix)[0], false)
      ) {
        result += "\\";
      }
      result += escapePatternString(part.suffix);
      if (needsGrouping) result += "}";
      result += part.modifier;
    }
    return result;
  };

  // A component: its canonical pattern string, regular expression and group names.
  const compileComponent = (input, encode, options) => {
    const parts = parsePatternString(input, options, encode);
    const { source, names } = generateRegExp(parts, options);
    let regexp;
    try {
      regexp = new RegExp(source, options.ignoreCase ? "vi" : "v");
    } catch (error) {
      throw new TypeError(`Invalid URL pattern ${JSON.stringify(input)}: ${error.message}`);
    }
    return {
      patternString: generatePatternString(parts, options),
      regexp,
      names,
      hasRegExpGroups: parts.some((part) => part.type === P.REGEXP),
    };
  };

  Object.assign(shared, { T, tokenize, compileComponent, escapePatternString });
});
