import Foundation
import XCTest

@testable import Trellis

/// The pipeline schema: the tokenizer and its code-point offsets, JSON-lines requests (ids and
/// passthrough fields copied as written, refusals), answers, and `tagJSONLines`.
final class PipelineTests: XCTestCase {
  // MARK: - Tokenizer

  /// Asserts the tokens of `text`, and that every token is the text's code points in its range.
  func assertTokens(
    _ text: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line
  ) {
    let tokens = Tokenizer.tokenize(text)
    XCTAssertEqual(tokens.map(\.text), expected, file: file, line: line)
    let scalars = Array(text.unicodeScalars)
    var previousEnd = 0
    for token in tokens {
      XCTAssertGreaterThanOrEqual(
        token.range.lowerBound, previousEnd, "ranges overlap", file: file, line: line)
      XCTAssertEqual(
        String(String.UnicodeScalarView(scalars[token.range])), token.text, file: file, line: line)
      previousEnd = token.range.upperBound
    }
  }

  func testPunctuationIsSplitOffAndApostrophesStayInWords() {
    assertTokens(
      "Show me flights to Boston, please.",
      ["Show", "me", "flights", "to", "Boston", ",", "please", "."])
    assertTokens("what's the o'clock fare?", ["what's", "the", "o'clock", "fare", "?"])
    assertTokens("don’t rock'n'roll", ["don’t", "rock'n'roll"])
    assertTokens("'quoted' dogs' bowls", ["'", "quoted", "'", "dogs", "'", "bowls"])
    assertTokens(
      "round-trip st. louis (nonstop)",
      ["round", "-", "trip", "st", ".", "louis", "(", "nonstop", ")"])
    assertTokens("a...b!?", ["a", ".", ".", ".", "b", "!", "?"])
  }

  func testNumbersKeepTheirSeparatorsBetweenDigits() {
    assertTokens(
      "$1,000.50 at 6:30, flight 1.", ["$", "1,000.50", "at", "6:30", ",", "flight", "1", "."])
    assertTokens("m80 dc10 ٣.٥", ["m80", "dc10", "٣.٥"])
  }

  func testWhitespaceControlAndFormatCharactersSeparate() {
    let text = "a\tb\u{00A0}c\u{200B}d\r\ne\u{FEFF}f\u{0007}g  "
    assertTokens(text, ["a", "b", "c", "d", "e", "f", "g"])
    // "\r\n" is one Character but two code points: e starts at 9, not 8.
    XCTAssertEqual(Tokenizer.tokenize(text).map(\.range.lowerBound), [0, 2, 4, 6, 9, 11, 13])
    XCTAssertEqual(Tokenizer.tokenize(""), [])
    XCTAssertEqual(Tokenizer.tokenize(" \n\t"), [])
    // The joiners after a letter, which Unicode attaches to it, stay in the word, as Persian
    // writes them within words ("I want"); a keycap reads as its digit, a word character.
    assertTokens(
      "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}",
      [
        "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}"
      ])
    assertTokens("room1\u{FE0F}\u{20E3}", ["room1\u{FE0F}\u{20E3}"])
  }

  func testOffsetsCountCodePointsNotGraphemesOrUTF16() {
    // Decomposed accents: "e" + U+0301 is one Character, two code points.
    let accented = "cafe\u{301} nai\u{308}ve"
    assertTokens(accented, ["cafe\u{301}", "nai\u{308}ve"])
    XCTAssertEqual(Tokenizer.tokenize(accented).map(\.range), [0..<5, 6..<12])
    // Letters outside the BMP: one code point each (two UTF-16 units).
    let script = "𝒳𝓎 𠀀ok"
    assertTokens(script, ["𝒳𝓎", "𠀀ok"])
    XCTAssertEqual(Tokenizer.tokenize(script).map(\.range), [0..<2, 3..<6])
    // Emoji are tokens of their own, never split inside a grapheme cluster.
    let emoji = "I ❤️ NY👨‍👩‍👧 🇫🇷👍🏽!"
    assertTokens(emoji, ["I", "❤️", "NY", "👨‍👩‍👧", "🇫🇷", "👍🏽", "!"])
    XCTAssertEqual(
      Tokenizer.tokenize(emoji).map(\.range),
      [0..<1, 2..<4, 5..<7, 7..<12, 13..<15, 15..<17, 17..<18])
  }

  /// A combining mark that begins a grapheme cluster of its own (at the text's start, or after
  /// a line break, after which clusters always break) is a word character, as the tokenizer's
  /// rules say: it joins the letters after it into one word instead of being a token alone.
  func testAMarkThatStartsACharacterBelongsToTheWord() {
    assertTokens("\u{301}ab cd", ["\u{301}ab", "cd"])
    assertTokens("ab\n\u{308}\u{301}c", ["ab", "\u{308}\u{301}c"])
  }

  /// Unicode makes a space and the marks or modifiers after it one grapheme cluster; the space
  /// separates, and what follows it is tokenized as if it began a cluster of its own.
  func testMarksAndModifiersAfterASeparatorAreKept() {
    assertTokens("to\u{A0}\u{301}denver", ["to", "\u{301}denver"])
    assertTokens("a \u{93E} b", ["a", "\u{93E}", "b"])
    assertTokens("a \u{20DD}", ["a", "\u{20DD}"])
    assertTokens("a \u{FE0F} b", ["a", "\u{FE0F}", "b"])
    assertTokens("to denver \u{1F3FD}", ["to", "denver", "\u{1F3FD}"])
    assertTokens("x\t\u{301}y \u{301}\u{308}z", ["x", "\u{301}y", "\u{301}\u{308}z"])
  }

  func testEveryVisibleCharacterLandsInExactlyOneToken() {
    var rng = SplitMix64(seed: 11)
    let alphabet: [Character] = [
      "a", "Z", "7", "'", "’", ".", ",", ":", "-", " ", "\t", "é", "e\u{301}", "😀", "👍🏽", "𝒳",
      "\u{200B}", "!", "\u{301}", "\u{1F3FD}",
    ]
    for _ in 0..<300 {
      let text = String(
        (0..<Int(rng.next() % 24)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
      let tokens = Tokenizer.tokenize(text)
      assertTokens(text, tokens.map(\.text))
      // By code point: a space and a mark after it are one Character.
      let visible: [Unicode.Scalar] = text.unicodeScalars.filter {
        !$0.properties.isWhitespace && $0 != "\u{200B}"
      }
      XCTAssertEqual(
        Array(tokens.map(\.text).joined().unicodeScalars), visible,
        "text: \(text.debugDescription)")
    }
  }

  // MARK: - Requests

  func testIdsAndPassthroughFieldsAreCopiedAsWritten() throws {
    for id in [
      "12345678901234567890", "0.1", "-0.0", "1E+400", "\"caf\\u00e9\"", "null",
      "{\"b\": [1, 2.50], \"a\": {}}",
    ] {
      let request = try TaggingRequest(jsonLine: "{ \"id\" : \(id) , \"tokens\": [\"a\"]}")
      XCTAssertEqual(request.id?.text, id)
      XCTAssertTrue(try respond(request).hasPrefix("{\"id\":\(id),\"labels\""), id)
    }
    let line = #"{"z": [1e-7, "\ud83d\ude00"], "tokens": ["to", "boston"], "a b": true, "id": 3}"#
    let request = try TaggingRequest(jsonLine: line)
    XCTAssertEqual(request.tokens, ["to", "boston"])
    XCTAssertEqual(request.passthrough.map(\.name.text), [#""z""#, #""a b""#])
    XCTAssertTrue(
      try respond(request).hasPrefix(#"{"id":3,"z":[1e-7, "\ud83d\ude00"],"a b":true,"labels""#))
  }

  func testTextRequestsAreTokenizedAndEscapesDecoded() throws {
    let request = try TaggingRequest(
      jsonLine: #"{"text": "caf\u00e9 \ud83d\ude00 \"new\" york\/x"}"#)
    XCTAssertEqual(request.text, "café 😀 \"new\" york/x")
    XCTAssertEqual(request.tokens, ["café", "😀", "\"", "new", "\"", "york", "/", "x"])
    XCTAssertNil(request.id)
  }

  func testBadRequestsAreRefusedWithReasonsAndTheIdWhenRead() {
    let cases: [(line: String, message: String, id: String?)] = [
      ("", "empty line", nil),
      ("[1, 2]", "expected a JSON object", nil),
      (#"{"id": 7, "tokens": ["a",]}"#, "column 26: expected a value", "7"),
      (#"{"id": 7, "tokens": ["a"]} x"#, "unexpected text after the object", "7"),
      (#"{"id": 7}"#, #"give "tokens""#, "7"),
      (#"{"id": 7, "tokens": [], "text": ""}"#, "not both", "7"),
      (#"{"id": 7, "tokens": "a b"}"#, "must be an array of strings, not a string", "7"),
      (#"{"id": 7, "tokens": ["a", null]}"#, "item 1 is null", "7"),
      (#"{"id": 7, "text": ["a"]}"#, #""text" must be a string, not an array"#, "7"),
      (#"{"id": 7, "id": 8, "text": "a"}"#, #"duplicate field "id""#, "7"),
      (#"{"id": 7, "labels": [], "text": "a"}"#, #"field "labels" is one the answer writes"#, "7"),
      (
        #"{"id": 7, "nbest_truncated": 1, "text": "a"}"#,
        #"field "nbest_truncated" is one the answer writes"#, "7"
      ),
      (#"{"id": 7, "confidence": true, "text": "a"}"#, "an option of the whole call", "7"),
      (#"{"id": 01, "text": "a"}"#, "cannot start with 0", nil),
      (#"{"id": 1., "text": "a"}"#, "digit after '.'", nil),
      (#"{"text": "\ud800 x"}"#, "unpaired surrogate", nil),
      (#"{"text": "\x"}"#, "unknown escape", nil),
      ("{\"text\": \"a\tb\"}", "control character", nil),
      (#"{"text": "a"#, "unterminated string", nil),
      (#"{"id": tru, "text": "a"}"#, "expected a value", nil),
      (#"{"id": [1}"#, "expected ',' or ']'", nil),
      (
        "{\"id\": 5, \"x\": " + String(repeating: "[", count: 600) + "}", "nested deeper than 512",
        "5"
      ),
    ]
    for (line, message, id) in cases {
      XCTAssertThrowsError(try TaggingRequest(jsonLine: line), line) { error in
        let error = error as? JSONLineError
        XCTAssertTrue(
          error?.message.contains(message) ?? false, "\(line): \(String(describing: error))")
        XCTAssertEqual(error?.id?.text, id, line)
      }
    }
    let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
    XCTAssertNoThrow(try TaggingRequest(jsonLine: #"{"id": \#(deep), "text": "a"}"#))
  }

  /// Nesting costs no call stack: on a thread of 64 KiB of stack (a C or Python host's), a
  /// request nested past the limit is refused, and one at it read; a call a level, with the
  /// refusal's message made at the deepest, overflowed such a stack at 513 levels.
  func testDeepNestingIsReadOnASmallStack() {
    func nested(_ depth: Int, _ inside: String = "") -> String {
      #"{"id": "# + String(repeating: "[", count: depth) + inside
        + String(repeating: "]", count: depth) + #", "text": "a"}"#
    }
    let lines = [nested(512), nested(513), nested(100_000), nested(500, "1 2")]
    var results = [Bool](repeating: false, count: lines.count)
    results.withUnsafeMutableBufferPointer { results in
      onThread(stackBytes: 64 << 10) {
        for (index, line) in lines.enumerated() {
          results[index] = (try? TaggingRequest(jsonLine: line)) != nil
        }
      }
    }
    XCTAssertEqual(results, [true, false, false, false])
  }

  /// Runs `body` on a new thread of `stackBytes` of stack and waits for it.
  private func onThread(stackBytes: Int, _ body: () -> Void) {
    withoutActuallyEscaping(body) { body in
      final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
      }
      let box = Unmanaged.passRetained(Box(body))
      var attributes = pthread_attr_t()
      pthread_attr_init(&attributes)
      pthread_attr_setstacksize(&attributes, stackBytes)
      var thread = pthread_t()
      let started = pthread_create(
        &thread, &attributes,
        {
          Unmanaged<Box>.fromOpaque($0!).takeUnretainedValue().body()
          return nil
        },
        box.toOpaque())
      XCTAssertEqual(started, 0)
      if started == 0 { pthread_join(thread, nil) }
      pthread_attr_destroy(&attributes)
      box.release()
    }
  }

  /// A sentence of more than `Sentence.tokenLimit` tokens, given as tokens or as text, is
  /// refused with its id; one of exactly the limit is read.
  func testARequestOfMoreTokensThanASentenceMayHoldIsRefused() throws {
    let limit = Sentence.tokenLimit
    func tokens(_ count: Int) -> String {
      "[" + Array(repeating: #""a""#, count: count).joined(separator: ",") + "]"
    }
    func text(_ count: Int) -> String {
      "\"" + Array(repeating: "a", count: count).joined(separator: " ") + "\""
    }
    for (field, value) in [("tokens", tokens), ("text", text)] {
      XCTAssertEqual(
        try TaggingRequest(jsonLine: #"{"id": 3, "\#(field)": \#(value(limit))}"#).tokens.count,
        limit)
      XCTAssertThrowsError(
        try TaggingRequest(jsonLine: #"{"id": 3, "\#(field)": \#(value(limit + 1))}"#)
      ) { error in
        XCTAssertEqual(
          error as? JSONLineError,
          JSONLineError(
            "\(limit + 1) tokens, more than the \(limit) a sentence may hold",
            id: try? RawJSON("3")))
      }
    }
  }

  func testRawJSONChecksOneValueAndEncodesStrings() throws {
    XCTAssertEqual(try RawJSON(" [1, {\"a\": null}] ").text, "[1, {\"a\": null}]")
    XCTAssertThrowsError(try RawJSON("1 2"))
    XCTAssertThrowsError(try RawJSON("{'a': 1}"))
    let tricky =
      "quote \" backslash \\ slash / newline \n tab \t bell \u{07} nul \u{0} é 😀 \u{2028}"
    let encoded = RawJSON.string(tricky).text
    XCTAssertNoThrow(try RawJSON(encoded))
    let decoded = try JSONSerialization.jsonObject(
      with: Data(encoded.utf8), options: .fragmentsAllowed)
    XCTAssertEqual(decoded as? String, tricky)
  }

  // MARK: - Answers

  /// The answer line for `request` with an analysis labelling every token O.
  func respond(_ request: TaggingRequest) throws -> String {
    let labels = [String](repeating: "O", count: request.tokens.count)
    return try TaggingResponse(
      request: request, analysis: Analysis(tokens: request.tokens, labels: labels, spans: [])
    ).jsonLine()
  }

  func testSpansAreLocatedInTheTextInCodePoints() throws {
    let request = TaggingRequest(text: "Fly 👨‍👩‍👧  to São\u{303}  Paulo, 𝒳 ok", id: .string("r1"))
    XCTAssertEqual(request.tokens, ["Fly", "👨‍👩‍👧", "to", "São\u{303}", "Paulo", ",", "𝒳", "ok"])
    let spans = [
      Span(label: "who", start: 1, end: 2, text: ""),
      Span(label: "city", start: 3, end: 5, text: ""),
      Span(label: "x", start: 6, end: 8, text: ""),
    ]
    let labels = ["O", "B-who", "O", "B-city", "I-city", "O", "B-x", "I-x"]
    let response = TaggingResponse(
      request: request, analysis: Analysis(tokens: request.tokens, labels: labels, spans: spans))
    let located = response.analysis.spans
    XCTAssertEqual(located.map(\.text), ["👨‍👩‍👧", "São\u{303}  Paulo", "𝒳 ok"])
    XCTAssertEqual(located.map { $0.startChar!..<$0.endChar! }, [4..<9, 14..<25, 27..<31])
    let object = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try response.jsonLine().utf8)) as? [String: Any])
    XCTAssertEqual(object["id"] as? String, "r1")
    XCTAssertEqual(object["text"] as? String, request.text)
    let first = try XCTUnwrap((object["spans"] as? [[String: Any]])?.first)
    XCTAssertEqual(first["start_char"] as? Int, 4)
    XCTAssertEqual(first["end_char"] as? Int, 9)
  }

  /// Duplicate members are refused whether the object has few members or many (names are
  /// kept in a list, then in a set once there are more than eight).
  func testDuplicateMembersAreRefusedInObjectsOfAnySize() throws {
    for count in [1, 7, 8, 9, 30] {
      let names = (0..<count).map { "\"f\($0)\"" }
      let members = names.map { "\($0): \($0)" }.joined(separator: ", ")
      let request = try TaggingRequest(jsonLine: #"{"text": "a", "# + members + "}")
      XCTAssertEqual(request.passthrough.count, count)
      for duplicate in Set([0, count / 2, count - 1]) {
        let line = #"{"text": "a", "# + members + ", \(names[duplicate]): 1}"
        XCTAssertThrowsError(try TaggingRequest(jsonLine: line), "\(count) \(duplicate)") {
          XCTAssertTrue("\($0)".contains("duplicate field \(names[duplicate])"), "\($0)")
        }
      }
    }
  }

  /// Names that differ in their bytes are two members, even when Swift's `==` (canonical
  /// equivalence) calls them equal: "café" precomposed and decomposed were refused as one
  /// duplicated field, where JSON (and Python's `json`) reads two.
  func testMembersWhoseNamesDifferInTheirBytesAreTwo() throws {
    for padding in [0, 10] {  // the list of a few names, then the set of many
      let others = (0..<padding).map { #""f\#($0)": 0, "# }.joined()
      let line = #"{"text": "a", "# + others + #""caf\u00e9": 1, "cafe\u0301": 2}"#
      let request = try TaggingRequest(jsonLine: line)
      XCTAssertEqual(request.passthrough.count, padding + 2, line)
      XCTAssertThrowsError(
        try TaggingRequest(
          jsonLine: #"{"text": "a", "# + others + #""caf\u00e9": 1, "caf\u00e9": 2}"#))
    }
  }

  func testJoinedBySpacesIsJoinedWithASpaceSeparator() {
    let pool = ["a", "", "caf\u{E9}", "e\u{301}", "\u{1F600}", "longer than fifteen bytes", " "]
    var rng = SplitMix64(seed: 11)
    for _ in 0..<2000 {
      let strings = (0..<Int(rng.next() % 6)).map { _ in pool[Int(rng.next() % UInt64(pool.count))]
      }
      XCTAssertEqual(strings.joinedBySpaces(), strings.joined(separator: " "), "\(strings)")
      XCTAssertEqual(
        strings.dropFirst().joinedBySpaces(), strings.dropFirst().joined(separator: " "))
    }
  }

  func testTokenRequestsLocateSpansInTheTokensJoinedBySpaces() {
    let request = TaggingRequest(tokens: ["to", "new", "york", "😀x"])
    let analysis = Analysis(
      tokens: request.tokens, labels: ["O", "B-c", "I-c", "B-e"],
      spans: [
        Span(label: "c", start: 1, end: 3, text: "new york"),
        Span(label: "e", start: 3, end: 4, text: "😀x"),
      ])
    let located = TaggingResponse(request: request, analysis: analysis).analysis.spans
    XCTAssertEqual(located.map(\.text), ["new york", "😀x"])
    XCTAssertEqual(located.map { $0.startChar!..<$0.endChar! }, [3..<11, 12..<14])
    // Code points, not characters or bytes: 2-, 3- and 4-byte scalars and a combining mark.
    XCTAssertEqual(
      TaggingRequest(tokens: ["\u{E9}", "e\u{301}", "中文", "😀x"]).tokenRanges,
      [0..<1, 2..<4, 5..<7, 8..<10])
  }

  // MARK: - tagJSONLines

  func testTagJSONLinesAnswersEveryLineInOrder() throws {
    let model = makeModel(words: 8)
    let lines =
      [
        #"{"id": 1, "tokens": ["w2", "w3", "w4", "w5", "w6"], "keep": [1, 2]}"#,
        "not json",
        #"{"id": "b", "text": "w7 w2, w3 😀 w4 w5 w6 w7"}"#,
        #"{"id": 3, "tokens": []}"#,
      ]
      + (0..<20).map {
        #"{"id": \#($0 + 4), "text": "w\#($0 % 6 + 2) w\#($0 % 5 + 2) w3 w\#($0 % 4 + 2)"}"#
      }
    let answers = try model.tagJSONLines(lines, options: TaggingOptions(batchSize: 3))
    XCTAssertEqual(answers.count, lines.count)
    XCTAssertEqual(
      answers[1],
      JSONLineAnswer(refusing: JSONLineError("invalid JSON at column 1: expected a JSON object")))
    XCTAssertEqual(answers.filter { $0.error != nil }.count, 1)
    var spanCount = 0
    for (line, answer) in zip(lines, answers) where answer.error == nil {
      let request = try TaggingRequest(jsonLine: line)
      let object = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(answer.line.utf8)) as? [String: Any])
      XCTAssertEqual(object["tokens"] as? [String], request.tokens)
      XCTAssertEqual(
        answer.line,
        try TaggingResponse(request: request, analysis: model.analyze([request.tokens])[0])
          .jsonLine())
      let source = Array(request.source.unicodeScalars)
      for span in try XCTUnwrap(object["spans"] as? [[String: Any]]) {
        let start = try XCTUnwrap(span["start_char"] as? Int)
        let end = try XCTUnwrap(span["end_char"] as? Int)
        XCTAssertEqual(
          span["text"] as? String, String(String.UnicodeScalarView(source[start..<end])))
        spanCount += 1
      }
    }
    XCTAssertGreaterThan(spanCount, 0, "no spans: the offsets went unchecked")
    XCTAssertTrue(answers[0].line.hasPrefix(#"{"id":1,"keep":[1, 2],"labels""#))
    XCTAssertThrowsError(try model.tagJSONLines(lines, options: TaggingOptions(batchSize: 0))) {
      XCTAssertEqual(($0 as? OptionError)?.option, "batch-size")
    }
  }
}
