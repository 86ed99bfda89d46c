/**
 * JSON for an inline <script type="application/json"> or a script literal. Everything from a run (request
 * names, error texts, hosts) may contain markup; JSON.stringify leaves `</script>` intact, which would close
 * the tag and let the rest run as HTML. Escaping <, >, & and the two JavaScript line separators as \uXXXX
 * keeps the text identical after JSON.parse and inert before it.
 */
export function safeJson(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null'
  return text.replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * Inlined library code is trusted but may contain the literal `</script` (in strings or regexps); break the
 * sequence so the HTML parser cannot see it. `<\/script` means the same thing to JavaScript.
 */
export function inlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--')
}

/** CSS cannot close a <style> element except with `</style`; same treatment. */
export function inlineStyle(css: string): string {
  return css.replace(/<\/(style)/gi, '<\\/$1')
}
