"""Reading a classification request: candidate labels, the text to classify, in-context examples.

The sandbox's models are not language models, so they must find these three
things in whatever a client sends. Nothing here imports the course: the
sandbox serves any client, and the course's template is read like any other
prompt. ``read(messages, candidates=None)`` returns a ``Reading``:

- **labels**, in this order: ``candidates`` passed in (a JSON-schema enum or a
  forced tool's enum, found by the request layer); then the last user message,
  then the system/developer messages, each read with the strategies of
  ``find_labels`` (a header followed by a one-per-line list, a header with an
  inline list, a bracketed list, a bullet or numbered list, quoted labels,
  "X or Y"); then the labels of the in-context examples.
- **text**: a fenced, triple-quoted or ``<tag>``-wrapped block; else the lines
  after a text header (``Text:``, ``文本：``, ``Input:``, ``新闻：`` ...) up to
  an answer cue (``Category:``, ``类别：``, ``Answer:`` ...); else whatever
  remains of the message once the label list and instruction lines are gone.
- **examples**: ``text => label`` lines (a JSON-string text is decoded), pairs
  of a text header and a filled answer cue, and earlier user/assistant turns
  whose reply is a short answer.

Written by hand because it is specific to this stand-in: no library reads
free-form classification prompts. README.md (prompt reading) lists what it
cannot read.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..chat_format import flatten_content

__all__ = ["Reading", "read", "read_prompt", "find_labels", "split_list", "input_text"]


@dataclass(frozen=True)
class Reading:
    labels: tuple[str, ...]
    text: str
    examples: tuple[tuple[str, str], ...] = ()
    source: str = ""  # where the labels came from ("candidates", "list", "inline", ...)


# ------------------------------------------------------------------ patterns
_CJK = "\u3400-\u9fff\uf900-\ufaff"
# Words that introduce the label set. English ones need word boundaries.
_LABEL_WORDS_EN = (r"categories|category|labels?|classes|class|options|choices|topics|tags|"
                   r"genres|intents|sentiments|classifications|candidates|one of|any of|"
                   r"choose from|pick from|select from")
_LABEL_WORDS_ZH = r"候选标签|可选类别|可选标签|候选类别|候选项|可选项|类别|标签|选项|类目|种类|范畴"
_LABEL_HEAD = re.compile(
    rf"(?:(?<![A-Za-z])(?:{_LABEL_WORDS_EN})(?![A-Za-z])|{_LABEL_WORDS_ZH})"
    r"[^:：\n.。?？!！]{0,24}?[:：]\s*(?P<rest>.*)$", re.I)
_SINGULAR_HEAD = re.compile(r"^\W*(?:label|category|class|选项)\s*[:：]", re.I)
_ZH_INLINE = re.compile(rf"(?:{_LABEL_WORDS_ZH})(?:包括|包含|分别是|分别为|有|为|是)"
                        r"(?P<rest>[^。\n：:]+)")
_ONE_OF = re.compile(r"\bone of\s+(?!the\b|these\b|those\b|following\b)(?P<rest>[^.?!\n:]+)",
                     re.I)
_ZH_FROM = re.compile(r"[从在](?P<rest>[^从在。\n]{3,}?)(?:之中|中|里)(?:选|挑|任选|选择)")
_TEXT_WORDS = (r"text|input|sentence|review|headline|title|news|article|document|message|"
               r"post|comment|tweet|passage|content|email|utterance|query|snippet|excerpt|"
               r"text to classify|the text")
_TEXT_WORDS_ZH = (r"给定文本|待分类文本|待分类的文本|输入文本|文本|输入|新闻标题|新闻|标题|句子|"
                  r"评论|内容|文章|正文|原文|评价|帖子|微博|短文")
_TEXT_HEAD = re.compile(
    rf"^\s*(?:[#>*_\s]*)(?:(?:the\s+)?(?:{_TEXT_WORDS})(?:\s+\d+)?(?![A-Za-z])|(?:{_TEXT_WORDS_ZH})"
    rf"\d*)\s*(?:[\(（][^)）\n]{{0,20}}[\)）])?\s*[*_]*\s*[:：]\s*(?P<rest>.*)$", re.I)
_ANSWER_WORDS = (r"category|categories|label|labels|answer|output|class|sentiment|topic|"
                 r"prediction|result|response|classification|rating|stars|intent|tag")
_ANSWER_WORDS_ZH = r"类别|标签|答案|输出|分类|情感|结果|主题|类型|回答|预测|评分"
_ANSWER_HEAD = re.compile(
    rf"^\s*(?:[#>*_\s]*)(?:(?:{_ANSWER_WORDS})(?![A-Za-z])|(?:{_ANSWER_WORDS_ZH}))"
    r"\s*[*_]*\s*[:：]\s*(?P<rest>.*)$", re.I)
_ARROW = re.compile(r"^\s*(?:=>|->|→|⇒)\s*(?P<label>\S.*?)\s*$")
_ARROW_SPLIT = re.compile(r"\s*(?:=>|->|→|⇒)\s*")
_EXAMPLES_HEAD = re.compile(
    r"^\s*[#*_]*\s*(?:(?:here are (?:some )?)?(?:labell?ed |solved )?examples?|few[- ]shot "
    r"examples?|"
    r"demonstrations?|参考示例|示例|例子|样例|范例|举例)(?:[^:：\n]{0,60}|\s*[\(（].{0,80}[\)）])[:：]\s*$",
    re.I)
_BULLET = re.compile(r"^\s*(?:[-*+–—](?=\s)|[•·▪◦‣⁃]|\d{1,2}\s*[.)、:：]|[\(（]\d{1,2}[\)）]|[①-⑳]|"
                     r"[A-Za-z][.)](?=\s)|[\(（][A-Za-z][\)）])\s*")
_FENCE = re.compile(r"```[^\n]*\n(?P<body>.*?)\n?```"
                    r"|\"\"\"(?P<body2>.*?)\"\"\"|'''(?P<body3>.*?)'''", re.S)
_XML = re.compile(r"<(?P<tag>text|input|review|article|document|news|headline|message|post|"
                  r"content|email|tweet|sentence|passage|query)>(?P<body>.*?)</(?P=tag)>",
                  re.S | re.I)
_QUOTED = re.compile(r"\"([^\"\n]{1,60})\"|(?<![\w])'([^'\n]{1,60})'(?![\w])|“([^”\n]{1,60})”|"
                     r"‘([^’\n]{1,60})’|「([^」\n]{1,60})」|『([^』\n]{1,60})』|`([^`\n]{1,60})`|"
                     r"«([^»\n]{1,60})»")
_BRACKETS = re.compile(r"\[(?P<a>[^\[\]\n]{3,200})\]|\((?P<b>[^()\n]{3,200})\)|"
                       r"（(?P<c>[^（）\n]{3,200})）|【(?P<d>[^【】\n]{3,200})】|"
                       r"\{(?P<e>[^{}\n]{3,200})\}|<(?P<f>[^<>\n]{3,200})>")
_INSTRUCTION = re.compile(
    r"^\s*(?:please\s+)?(?:answer|respond|reply|output|return|give|only|just|use|write|"
    r"choose|pick|select|classify|categori[sz]e|label|decide|determine|tell|which|what|"
    r"is (?:this|the)|does (?:this|the)|you (?:are|must|should)|do not|don't)\b"
    r"|^\s*(?:请|只|仅|直接|不要|你是|判断|回答|输出|选择|对给定|对下|对以下|将下|把下|根据|这(?:条|段|篇|个)"
    r".{0,20}(?:是|属于))", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])|(?<=[。！？])")
_OR_EN = re.compile(r"(?P<a>[\w\-'/&+]+)\s*,?\s+or\s+(?P<b>[\w\-'/&+]+)", re.I)
_OR_ZH = re.compile(r"是?(?P<a>[^\s，,。？?！!、是]{1,8}?)的?还是(?P<b>[^\s，,。？?！!的]{1,8})")
_STAR_RANGE = re.compile(r"(?<!\d)([1-5])\s*(?:-|–|~|～|to|到|至)\s*([2-9]|10)(?!\d)\s*"
                         r"(?:stars?|星|分|points?)?", re.I)
_STOP_WORDS = {"is", "it", "this", "the", "a", "an", "as", "be", "either", "into", "with",
               "whether", "are", "was", "text", "review", "tweet", "answer", "reply",
               "respond", "label", "classify", "between", "among", "from", "to", "of"}


# ------------------------------------------------------------------- helpers
def _unquote(s: str) -> str:
    s = s.strip()
    for _ in range(2):
        s = s.strip()
        if s.startswith("**") and s.endswith("**") and len(s) > 4:
            s = s[2:-2]
        if len(s) >= 2 and s[0] + s[-1] in ('""', "''", "``", "“”", "‘’", "「」", "『』", "«»"):
            s = s[1:-1]
    return s.strip()


def _clean_item(s: str) -> str:
    s = _BULLET.sub("", s, count=1) if _BULLET.match(s) else s
    s = _unquote(s)
    return s.strip().rstrip("。，,;；").strip()


def _dedupe(items) -> list[str]:
    out = []
    for it in items:
        if it and it not in out:
            out.append(it)
    return out


def _split_last(items: list[str], zh: bool) -> list[str]:
    """'a, b or c' / '体育、财经和科技': split a connector in the last item only."""
    if len(items) < 2:
        return items
    others, last = items[:-1], items[-1]
    pattern = r"(?:或者|或是|或|以及|及|和|还是)" if zh else r",?\s+(?:or|and)\s+"
    if any(re.search(pattern, o) for o in others):
        return items
    parts = [p.strip() for p in re.split(pattern, last, maxsplit=1)]
    if len(parts) == 2 and all(parts) and len(last) > max(len(o) for o in others):
        return others + parts
    return items


def split_list(s: str) -> list[str]:
    """An inline label list: quoted items, else split at the strongest separator present.

    Separators, strongest first: ``|``, ``；``/``;``, ``、``, ``，``/``,``,
    ``/``, then " or " / 还是 / 或. A trailing "or"/"and"/"和"/"或" joining the
    last two items is split too.
    """
    s = s.strip()
    s = re.sub(r"(?<![.\w])\.$|(?<=\w)\.$|[。．]$", "", s).strip()
    wrapped = re.fullmatch(r"\[(.+)\]|\((.+)\)|（(.+)）|【(.+)】|\{(.+)\}", s)
    if wrapped:
        s = next(g for g in wrapped.groups() if g is not None).strip()
    quoted = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(s)]
    if len(quoted) >= 2:
        rest = _QUOTED.sub("", s)
        if not re.sub(r"[\s,，、;；|/]|\bor\b|\band\b|或者?|和|还是", "", rest, flags=re.I):
            return _dedupe(_unquote(q) for q in quoted)
    zh = bool(re.search(f"[{_CJK}]", s))
    for sep in ("|", "｜", "；", ";", "、", "，", ",", "/", "／"):
        if sep in s:
            parts = s.split(sep)
            if sep in ",，;；、":
                parts = _split_last([p.strip() for p in parts], zh or sep in "，；、")
            break
    else:
        parts = re.split(r"\s+or\s+|或者|还是" if not zh else r"\s+or\s+|或者|还是|或", s)
    parts = [re.sub(r"^(?:and|or)\s+", "", _clean_item(p), flags=re.I) for p in parts]
    return _dedupe(parts)


def _strip_description(items: list[str]) -> list[str]:
    """'sports: games and teams' items -> 'sports', when every item has a description."""
    if len(items) < 2:
        return items
    for sep in (re.compile(r"\s*[:：]\s+|：\s*"), re.compile(r"\s+[-–—]\s+")):
        heads = [sep.split(it, maxsplit=1) for it in items]
        if all(len(h) == 2 and h[0].strip() and h[1].strip() for h in heads):
            return _dedupe(_unquote(h[0]) for h in heads)
    paren = re.compile(r"^(?P<label>.+?)\s*[\(（][^()（）]{2,}[\)）]$")
    matches = [paren.match(it) for it in items]
    if all(matches):
        return _dedupe(m.group("label").strip() for m in matches)
    return items


def _looks_like_sentence(line: str) -> bool:
    s = line.strip()
    words = len(s.split())
    cjk = len(re.findall(f"[{_CJK}]", s))
    return bool(re.search(r"[.。!！?？]$", s)) and (words >= 5 or cjk >= 10)


def _much_longer(line: str, items: list[str]) -> bool:
    """An unbulleted line far longer than the labels before it is text, not a label."""
    def size(s):
        return len(s.split()) + len(re.findall(f"[{_CJK}]", s)) // 2
    return size(line) >= 5 and size(line) >= 2 * max(size(it) for it in items) + 2


def _is_header(line: str) -> bool:
    return bool(_TEXT_HEAD.match(line) or _EXAMPLES_HEAD.match(line)
                or (_ANSWER_HEAD.match(line) and not _ANSWER_HEAD.match(line).group("rest")))


# ------------------------------------------------------------------- labels
def _block_after(lines: list[str], start: int) -> tuple[list[str], list[int]]:
    """One-label-per-line items after a header at ``start - 1``: (items, line indexes)."""
    items, used, i = [], [], start
    while i < len(lines) and not lines[i].strip() and not items and i < start + 2:
        i += 1
    bulleted = None
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            break
        has_bullet = bool(_BULLET.match(line))
        if bulleted is None:
            bulleted = has_bullet
        if (bulleted and not has_bullet) or _is_header(line) or _LABEL_HEAD.search(line) and \
                not has_bullet and not _LABEL_HEAD.search(line).group("rest") or \
                (items and not bulleted
                 and (_looks_like_sentence(line) or _much_longer(line, items))):
            break
        item = _clean_item(line)
        if item:
            items.append(item)
            used.append(i)
        i += 1
    return _strip_description(_dedupe(items)), used


def _after_colon(line: str, end: int) -> str:
    """The text after a label list on its own line: what follows the next colon."""
    m = re.search(r"[:：]\s*(?P<tail>\S.*)$", line[end:])
    return m.group("tail").strip() if m else ""


def _header_lists(lines, skip):
    for i, line in enumerate(lines):
        if i in skip:
            continue
        for pattern in (_ZH_FROM, _ONE_OF, _ZH_INLINE):
            m = pattern.search(line)
            if m:
                items = split_list(m.group("rest"))
                if len(items) >= 2:
                    return items, [i], "inline", {i: _after_colon(line, m.end())}
        m = _LABEL_HEAD.search(line)
        if m:
            rest = m.group("rest").strip().strip("*_").strip()
            if not rest:
                items, used = _block_after(lines, i + 1)
                if len(items) >= 2:
                    return items, [i, *used], "list", {}
                continue
            items = split_list(rest)
            if len(items) >= 2 and not _SINGULAR_HEAD.match(line) or len(items) >= 3:
                return _strip_description(items), [i], "inline", {}
    return None


def _bracket_lists(lines, skip):
    for i, line in enumerate(lines):
        if i in skip:
            continue
        for m in _BRACKETS.finditer(line):
            inner = next(g for g in m.groups() if g is not None)
            if not re.search(r"[|/,，、;；]|\bor\b|或|还是", inner):
                continue
            items = split_list(inner)
            if len(items) >= 2 and all(len(it) <= 40 for it in items) and \
                    not re.match(r"^(?:e\.g\.|i\.e\.|eg|ie|例如|比如|如)\b", inner.strip(), re.I):
                return items, [], "brackets", {}
    return None


def _bullet_lists(lines, skip):
    i = 0
    while i < len(lines):
        if i not in skip and _BULLET.match(lines[i]) and lines[i].strip():
            items, used = _block_after(lines, i)
            if len(items) >= 2 and all(len(it) <= 60 for it in items):
                return items, used, "bullets", {}
            i += max(len(used), 1)
        else:
            i += 1
    return None


def _quoted_labels(lines, skip):
    for i, line in enumerate(lines):
        if i in skip:
            continue
        quoted = [_unquote(next(g for g in m.groups() if g is not None))
                  for m in _QUOTED.finditer(line)]
        quoted = _dedupe(q for q in quoted if q and len(q) <= 40)
        if len(quoted) >= 2:
            return quoted, [], "quotes", {}
    return None


def _or_labels(lines, skip):
    for i, line in enumerate(lines):
        if i in skip:
            continue
        m = _OR_ZH.search(line)
        if m:
            items = _dedupe([m.group("a"), *re.split(r"还是", m.group("b"))])
            head = line[:m.start("a")]
            more = re.search(r"是([^\s，,。？?！!是]{1,8}(?:、[^\s，,。？?！!、]{1,8})+)、?$", head)
            if more:
                items = _dedupe([*more.group(1).split("、"), *items])
            if len(items) >= 2:
                return items, [], "or", {}
        for m in _OR_EN.finditer(line):
            words = line[:m.start("a")].split()
            a, b = m.group("a"), m.group("b")
            if a.lower() in _STOP_WORDS or b.lower() in _STOP_WORDS:
                continue
            before = [a]
            # "positive, negative, or neutral": earlier comma-separated single words
            head = line[:m.start("a")].rstrip()
            while head.endswith(","):
                prev = head[:-1].split()
                if not prev or prev[-1].lower() in _STOP_WORDS:
                    break
                before.insert(0, prev[-1].strip("\"'“”"))
                head = " ".join(prev[:-1])
            # "Real Estate or World News": capitalised neighbours belong to the label
            if a[:1].isupper() and len(before) == 1:
                k = len(words) - 1
                while k >= 0 and words[k][:1].isupper() and words[k].lower() not in _STOP_WORDS:
                    before[0] = words[k] + " " + before[0]
                    k -= 1
            after = b
            if b[:1].isupper():
                tail = line[m.end("b"):].split()
                for w in tail:
                    if w[:1].isupper() and w.strip("?.!,").isalpha():
                        after += " " + w.strip("?.!,")
                    else:
                        break
            items = _dedupe([_clean_item(x) for x in (*before, after)])
            if len(items) >= 2:
                return items, [], "or", {}
    return None


def _star_range(lines, skip):
    for i, line in enumerate(lines):
        if i in skip or not re.search(r"star|rating|rate|score|星|评分|打分", line, re.I):
            continue
        m = _STAR_RANGE.search(line)
        if m:
            low, high = int(m.group(1)), int(m.group(2))
            if low < high <= 10:
                return [str(k) for k in range(low, high + 1)], [], "range", {}
    return None


STRATEGIES = (_header_lists, _bracket_lists, _bullet_lists, _quoted_labels, _or_labels,
              _star_range)


def find_labels(prompt: str, skip=()) -> tuple[list[str], list[int], str]:
    """(labels, line indexes the list occupies, strategy name); ([], [], "") if none."""
    labels, used, source, _ = _find(prompt.replace("\r\n", "\n").split("\n"), set(skip))
    return labels, used, source


def _find(lines: list[str], skip: set):
    """(labels, used lines, source, {line: text left on that line after the list})."""
    for strategy in STRATEGIES:
        found = strategy(lines, skip)
        if found:
            return found
    return [], [], "", {}


# ----------------------------------------------------------- text, examples
def _arrow_example(line: str, nxt: str | None):
    """``text => label`` (text may be a JSON string), or text on one line and ``=> label`` next."""
    s = line.strip()
    if s.startswith('"'):
        try:
            text, end = json.JSONDecoder().raw_decode(s)
        except ValueError:
            text = None
        if isinstance(text, str):
            m = re.match(r"\s*(?:=>|->|→|⇒)\s*(?P<label>\S.*?)\s*$", s[end:])
            if m:
                return text, m.group("label"), 1
    parts = _ARROW_SPLIT.split(s)
    if len(parts) >= 2 and parts[0].strip() and parts[-1].strip():
        return _unquote(" ".join(parts[:-1])), parts[-1].strip(), 1
    if nxt is not None and s:
        m = _ARROW.match(nxt)
        if m:
            return _unquote(s), m.group("label"), 2
    return None


def _trim_tail(block: list[str]) -> list[str]:
    """Drop a closing instruction paragraph ("Answer with JSON only ...") after a blank line."""
    while block and not block[-1].strip():
        block = block[:-1]
    for k in range(len(block) - 1, 0, -1):
        if not block[k].strip():
            tail = [b for b in block[k + 1:] if b.strip()]
            if tail and all(_INSTRUCTION.match(t) or _ANSWER_HEAD.match(t) for t in tail) and \
                    sum(len(t) for t in tail) < 200:
                return _trim_tail(block[:k])
            break
    return block


@dataclass
class _Parts:
    text: str | None
    examples: list
    used: set


def _segments(lines: list[str]) -> _Parts:
    """Text-header segments (the query and filled examples) and arrow examples."""
    used, examples, query = set(), [], None
    # examples written as "text => label"
    i = 0
    while i < len(lines):
        line = lines[i]
        if _EXAMPLES_HEAD.match(line) or ("=>" in line or "->" in line or "→" in line):
            if _EXAMPLES_HEAD.match(line):
                used.add(i)
                i += 1
                continue
            ex = _arrow_example(line, lines[i + 1] if i + 1 < len(lines) else None)
            if ex and not _TEXT_HEAD.match(line):
                examples.append((ex[0], ex[1]))
                used.update(range(i, i + ex[2]))
                i += ex[2]
                continue
        i += 1
    heads = [i for i, line in enumerate(lines) if i not in used and _TEXT_HEAD.match(line)]
    for n, start in enumerate(heads):
        stop = heads[n + 1] if n + 1 < len(heads) else len(lines)
        first = _TEXT_HEAD.match(lines[start]).group("rest")
        body, answer, end = [first] if first.strip() else [], None, stop
        for j in range(start + 1, stop):
            line = lines[j]
            m = _ANSWER_HEAD.match(line)
            if m or (j in used):
                answer, end = (m.group("rest").strip() if m else None), j
                break
            if _LABEL_HEAD.search(line) and not body:
                continue
            if _EXAMPLES_HEAD.match(line) or (_LABEL_HEAD.search(line) and
                                              (j + 1 == stop or not lines[j - 1].strip())):
                end = j
                break
            body.append(line)
        if n + 1 == len(heads) and answer is None:
            body = _trim_tail(body)
        text = _unquote("\n".join(body).strip("\n"))
        if answer:
            examples.append((text, _unquote(answer)))
            used.update(range(start, end + 1))
        else:
            query = text
            used.update(range(start, end + (1 if end < stop else 0)))
    return _Parts(query, examples, used)


def _remaining_text(lines: list[str], used: set, had_labels: bool, leftovers=None) -> str:
    leftovers = leftovers or {}
    rest = [leftovers[i] if i in used else line for i, line in enumerate(lines)
            if i not in used or leftovers.get(i)]
    if had_labels:
        kept = []
        for line in rest:
            m = _ANSWER_HEAD.match(line)
            if m and not m.group("rest").strip():
                continue
            if _INSTRUCTION.match(line):
                # "Classify this headline: Lakers beat Celtics" keeps what follows the colon
                m = re.search(r"[:：]\s*(?P<tail>\S.*)$", line)
                if m and not _LABEL_HEAD.search(line):
                    kept.append(m.group("tail"))
                else:
                    sentences = [s for s in _SENTENCE_END.split(line) if s.strip()]
                    tail = [s for s in sentences if not _INSTRUCTION.match(s)]
                    if tail and len(sentences) > 1:
                        kept.append(" ".join(tail))
                continue
            kept.append(line)
        if "".join(kept).strip():
            rest = kept
    return _unquote("\n".join(rest).strip())


def read_prompt(prompt: str, candidates=None) -> Reading:
    """Labels, text and examples of one message's text."""
    prompt = (prompt or "").replace("\r\n", "\n")
    block = None
    for m in list(_XML.finditer(prompt)) or list(_FENCE.finditer(prompt)):
        block = m  # the last fenced or tagged block is the text
    lines = prompt.split("\n")
    parts = _segments(lines)
    labels, label_lines, source, leftovers = _find(lines, parts.used)
    if candidates:
        labels, source = list(candidates), "candidates"
    if block is not None:
        text = next(g for g in block.groups()[1:] if g is not None) if block.re is _XML else \
            next(g for g in block.groups() if g is not None)
        text = text.strip("\n")
    elif parts.text is not None:
        text = parts.text
    else:
        used = parts.used | set(label_lines)
        text = _remaining_text(lines, used, bool(labels), leftovers)
    return Reading(tuple(labels), text, tuple(parts.examples), source)


def input_text(user_message: str) -> str:
    """What a fine-tuned model reads from a user message: the text to classify.

    The whole message when it holds no labels and no text header, so plain
    texts are learned as they are.
    """
    reading = read_prompt(user_message)
    if not reading.labels and not reading.examples and reading.text == (user_message or "").strip():
        return user_message or ""
    return reading.text or user_message or ""


def _short_answer(reply: str) -> bool:
    return bool(reply) and len(reply) <= 60 and "\n" not in reply.strip()


def read(messages, candidates=None) -> Reading:
    """Read a chat request: ``candidates`` (schema or tool enum) override the prompt's labels."""
    messages = [m for m in messages or [] if isinstance(m, dict)]
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        return Reading(tuple(candidates or ()), "", (), "candidates" if candidates else "")
    last = users[-1]
    reading = read_prompt(flatten_content(messages[last].get("content")))
    labels, source = list(reading.labels), reading.source
    if not labels:
        for m in messages:
            if m.get("role") in ("system", "developer"):
                found = read_prompt(flatten_content(m.get("content")))
                if found.labels:
                    labels, source = list(found.labels), "system:" + found.source
                    break
    # earlier user/assistant turns are in-context examples
    turns = []
    for i in users[:-1]:
        if i + 1 < len(messages) and messages[i + 1].get("role") == "assistant":
            reply = flatten_content(messages[i + 1].get("content")).strip()
            if _short_answer(reply):
                turns.append((input_text(flatten_content(messages[i].get("content"))), reply))
    examples = list(reading.examples) + turns
    if not labels and examples:
        labels, source = _dedupe(lab for _, lab in examples), "examples"
    if candidates:
        labels, source = list(candidates), "candidates"
    return Reading(tuple(_dedupe(labels)), reading.text, tuple(examples), source)
