import Foundation
import Trellis
import XCTest

/// Nothing a user owns is lost: outputs never replace inputs, devices or links, are checked
/// before training starts, and write errors end the command with a non-zero status.
final class FileSafetyTests: CLITestCase {
  private var train: [String] {
    ["train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"), "--quiet"]
      + Self.smallModelOptions
  }

  /// A character device of this test's own (the null device's numbers), so no system file is
  /// ever at risk; nil when this user may not create device nodes.
  private func privateNullDevice() -> String? {
    let device = path("null-device")
    let nullDevice = dev_t((1 << 8) | 3)  // makedev(1, 3)
    return mknod(device, S_IFCHR | 0o666, nullDevice) == 0 ? device : nil
  }

  private func isCharacterDevice(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR
  }

  func testLogOnADeviceLeavesItADevice() throws {
    guard let device = privateNullDevice() else { throw XCTSkip("mknod needs root") }
    assertSucceeded(try trellis(train + ["--model", path("m"), "--log", device]))
    XCTAssertTrue(isCharacterDevice(device), "--log replaced a device with a regular file")
  }

  /// A FIFO can be read once, as standard input can: given as both --train and --dev, the
  /// second read waited forever for another writer. Refused before any file is opened.
  func testOneFIFOForTwoInputsIsRefused() throws {
    let fifo = path("data")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    let twice = try runTrellis(
      ["train", "--train", fifo, "--dev", fifo, "--model", path("m")], timeout: 60)
    assertFailed(
      twice,
      mentioning: [
        "\(fifo): is a pipe, which can be read once, and is given as both --train and --dev"
      ])
    // A positional input is named as its usage names it.
    let tagged = try runTrellis(["tag", "--model", fifo, fifo], timeout: 60)
    assertFailed(tagged, mentioning: ["is given as both --model and FILE"])
  }

  /// `--log` through a link to a pipe or FIFO writes the log: its kind was checked by reading
  /// it, which waited forever (`/dev/stdout` into a pipe, a link to a FIFO).
  func testLogThroughALinkToAPipeOrFIFOIsWrittenNotRead() throws {
    let pipe = Pipe()
    let toPipe = try runTrellis(
      train + ["--model", path("m"), "--log", "/dev/stdout"],
      stdout: pipe.fileHandleForWriting, timeout: 60)
    try pipe.fileHandleForWriting.close()
    assertSucceeded(toPipe)
    let piped = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    XCTAssertTrue(piped.hasPrefix(#"{"recipe":"#), piped)

    let fifo = path("fifo")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    try FileManager.default.createSymbolicLink(atPath: path("link"), withDestinationPath: fifo)
    let reader = Process()
    reader.executableURL = URL(fileURLWithPath: "/bin/cat")
    reader.arguments = [fifo]
    let read = Pipe()
    reader.standardOutput = read
    try reader.run()
    assertSucceeded(
      try runTrellis(train + ["--model", path("m2"), "--log", path("link")], timeout: 60))
    let logged = String(decoding: read.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    reader.waitUntilExit()
    XCTAssertTrue(logged.hasPrefix(#"{"recipe":"#), logged)
  }

  /// `--log /dev/stdout >> runs.jsonl` appends each run's log: the first record emptied the
  /// file the shell opened to append to, and the earlier runs were lost.
  func testLogOnStandardOutputAppendsWhereTheShellAppends() throws {
    let options = Self.smallModelOptions.joined(separator: " ")
    let runs = path("runs.jsonl")
    for seed in 1...2 {
      let result = try trellisInShell(
        "\"$0\" train --train \"$1\" --model \"$2\" --seed \(seed) --quiet \(options) "
          + "--log /dev/stdout >> \"$3\"",
        [PackagePaths.tiny("train"), path("m\(seed)"), runs])
      XCTAssertEqual(result.status, 0, result.stderr)
    }
    let lines = try contents(of: runs).split(separator: "\n")
    XCTAssertEqual(lines.filter { $0.hasPrefix(#"{"recipe":"#) }.count, 2, "\(lines)")
    // A file the shell opened that is no log, a model here, is refused as by its own path.
    let model = try Data(contentsOf: URL(fileURLWithPath: path("m1")))
    let onModel = try trellisInShell(
      "\"$0\" train --train \"$1\" --model \"$2\" --quiet \(options) --log /dev/stdout >> \"$3\"",
      [PackagePaths.tiny("train"), path("m3"), path("m1")])
    XCTAssertNotEqual(onModel.status, 0)
    XCTAssertTrue(onModel.stderr.contains("is not a Trellis"), onModel.stderr)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("m1"))), model)
  }

  /// "-", standard input to every input option, is refused as an output and as a model, a
  /// usage error before any work: `--model -`, `--log -` and `bench --json -` each wrote a file
  /// named "-", and `eval --model - --test -` blamed `--test` for reading standard input twice.
  func testADashIsRefusedAsAnOutputAndAsAModel() throws {
    let model = try sharedModel()
    let test = PackagePaths.tiny("test")
    for (arguments, expected) in [
      (train + ["--model", "-"], "--model - would write a file named '-'; give the file's path"),
      (train + ["--model", "m", "--log", "-"], "(/dev/stdout for standard output)"),
      (["bench", "--model", model, "--test", test, "--json", "-"], "--json - would write"),
      (["tag", "--model", "-", test], "--model - is standard input, which a model is not read"),
      (["eval", "--model", "-", "--test", "-"], "--model - is standard input"),
      (["info", "-"], "MODEL - is standard input"),
    ] {
      // In this test's directory, where a file named "-" would be made.
      let (status, stderr) = try trellisInShell(
        #"cd "$1" && shift && exec "$0" "$@""#, [directory.path] + arguments)
      XCTAssertEqual(status, 64, stderr)
      XCTAssertTrue(stderr.contains(expected), stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: path("-")), "\(arguments)")
    }
  }

  func testModelOnADeviceIsRefused() throws {
    guard let device = privateNullDevice() else { throw XCTSkip("mknod needs root") }
    assertFailed(try trellis(train + ["--model", device]), mentioning: ["is a device or FIFO"])
    XCTAssertTrue(isCharacterDevice(device))
  }

  func testModelThroughASymbolicLinkReplacesTheTargetAndKeepsTheLink() throws {
    try FileManager.default.createDirectory(atPath: path("real"), withIntermediateDirectories: true)
    let target = path("real/model")
    try FileManager.default.copyItem(atPath: try sharedModel(), toPath: target)
    try FileManager.default.createSymbolicLink(atPath: path("link"), withDestinationPath: target)
    assertSucceeded(try trellis(train + ["--model", path("link")]))
    XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: path("link")), target)
    assertSucceeded(try trellis(["tag", "--model", target, PackagePaths.tiny("test")]))
  }

  /// A dangling link is written through too: its target is made, and the link stays.
  func testModelThroughADanglingLinkMakesTheTarget() throws {
    try FileManager.default.createSymbolicLink(
      atPath: path("link"), withDestinationPath: "new.model")
    assertSucceeded(try trellis(train + ["--model", path("link")]))
    XCTAssertEqual(
      try FileManager.default.destinationOfSymbolicLink(atPath: path("link")), "new.model")
    assertSucceeded(try trellis(["tag", "--model", path("new.model"), PackagePaths.tiny("test")]))
  }

  /// An input on standard input (`--train - < f`) is the file `f`: no output may replace it.
  func testOutputsOntoAnInputOnStandardInputAreRefused() throws {
    let corpus = try write(try contents(of: PackagePaths.tiny("train")), to: "t.conll")
    let options = Self.smallModelOptions.joined(separator: " ")
    let model = path("m")
    for output in [
      "--model \"$1\"", "--model \(model) --checkpoint \"$1\"", "--model \(model) --log \"$1\"",
    ] {
      let refused = try trellisInShell(
        "\"$0\" train --train - \(output) --quiet \(options) < \"$1\"", [corpus])
      XCTAssertNotEqual(refused.status, 0, output)
      XCTAssertTrue(refused.stderr.contains("is also the --train input"), refused.stderr)
      XCTAssertEqual(try contents(of: corpus), try contents(of: PackagePaths.tiny("train")))
    }
  }

  func testOutputsThatAreInputsOrEachOtherAreRefusedBeforeTraining() throws {
    let corpus = try write(try contents(of: PackagePaths.tiny("train")), to: "t.conll")
    let original = try Data(contentsOf: URL(fileURLWithPath: corpus))
    try FileManager.default.linkItem(atPath: corpus, toPath: path("hardlink.conll"))
    let base = ["train", "--train", corpus, "--quiet"] + Self.smallModelOptions
    let cases: [([String], String)] = [
      (["--model", corpus], "is also the --train input"),
      (["--model", path("hardlink.conll")], "is also the --train input"),
      (["--model", path("m"), "--log", corpus], "is also the --train input"),
      (["--model", path("m"), "--log", path("m")], "is given as both --model and --log"),
      (
        ["--model", path("m"), "--checkpoint", path("m")],
        "is given as both --model and --checkpoint"
      ),
    ]
    try write("existing", to: "m")
    for (arguments, message) in cases {
      assertFailed(try trellis(base + arguments), mentioning: [message])
    }
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: corpus)), original, "the corpus changed")
    XCTAssertEqual(try contents(of: path("m")), "existing", "a refused run touched the model path")
  }

  /// Outputs that do not exist yet are the same file under another spelling too: training
  /// once removed `n.model` as its own checkpoint (`--checkpoint ./n.model`) and lost a log
  /// written where the model or the checkpoint went.
  func testNewOutputsSpelledTwoWaysAreRefused() throws {
    try FileManager.default.createDirectory(atPath: path("sub"), withIntermediateDirectories: true)
    let model = path("n.model")
    try FileManager.default.createSymbolicLink(
      atPath: path("dangling"), withDestinationPath: "n.model")
    let cases: [([String], String)] = [
      (["--checkpoint", path(".") + "/n.model"], "is given as both --model and --checkpoint"),
      (["--checkpoint", path("sub") + "/../n.model"], "is given as both --model and --checkpoint"),
      (["--log", path("./n.model")], "is given as both --model and --log"),
      (["--log", model + ".checkpoint"], "is given as both --checkpoint and --log"),
      // A dangling link to the model: a killed run left a checkpoint in the model's place.
      (["--checkpoint", path("dangling")], "is given as both --model and --checkpoint"),
      (["--checkpoint", path("c"), "--log", ""], "--log is empty; it takes a file's path"),
      // Standard input read twice: the second found it empty ("contains no sentences").
      (["--train", "-", "--dev", "-"], "--dev - reads standard input, which --train - reads"),
      (
        ["--checkpoint", path("c"), "--log", path("sub/../c"), "--keep-checkpoint"],
        "is given as both --checkpoint and --log"
      ),
    ]
    for (arguments, message) in cases {
      // A case of its own inputs gives them alone (an input option given twice is refused).
      let command =
        arguments.contains("--train") ? ["train", "--quiet"] + Self.smallModelOptions : train
      let result = try trellis(command + ["--model", model] + arguments)
      assertFailed(result, mentioning: [message])
      // An option's value, not a file, is wrong: a usage error, as ArgumentParser's own.
      if message.hasPrefix("--") { XCTAssertEqual(result.exitCode, 64, result.summary) }
    }
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: path("sub")), [],
      "a refused run wrote a file")
    for name in ["n.model", "n.model.checkpoint", "c"] {
      XCTAssertFalse(FileManager.default.fileExists(atPath: path(name)), "\(name) was written")
    }
  }

  /// Standard output appended to an input (`tag f >> f`, `info m >> m`) is refused before
  /// anything is written, by every command (`FileRoles.check`): tag would read its own answers
  /// back, info would damage the model.
  func testStandardOutputOntoAnInputIsRefused() throws {
    let input = try write(try contents(of: PackagePaths.tiny("test")), to: "in.conll")
    let model = path("copy.model")
    try FileManager.default.copyItem(atPath: try sharedModel(), toPath: model)
    let originals = try [input, model].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    for (arguments, target) in [
      (["tag", "--model", model, input], input), (["info", model], model),
      (["eval", "--model", model, "--test", input], input),
      (["score", input], input),
      (["bench", "--model", model, "--test", input], input),
    ] {
      let output = try FileHandle(forWritingTo: URL(fileURLWithPath: target))
      try output.seekToEnd()
      let result = try runTrellis(arguments, stdout: output)
      try output.close()
      assertFailed(result, mentioning: ["\(target): is also standard output"])
    }
    XCTAssertEqual(
      try [input, model].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }, originals)
  }

  /// Standard error appended to an input (`train --train f >> f 2>&1`, `tag m f 2>> f`) is
  /// refused with no byte written to it, not even the refusal (exit status 1); so is
  /// `--print-config` appended to the --config file it read.
  func testStandardErrorOntoAnInputLeavesItAlone() throws {
    let input = try write(try contents(of: PackagePaths.tiny("train")), to: "in.conll")
    let config = try write(#"{"options": {"epochs": 1}}"#, to: "run.json")
    let originals = try [input, config].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    let model = try sharedModel()
    func appending(to target: String) throws -> FileHandle {
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: target))
      try handle.seekToEnd()
      return handle
    }
    for (arguments, bothStreams) in [
      (["tag", "--model", model, input], false), (["tag", "--model", model, input], true),
      (["train", "--train", input, "--model", path("m"), "--epochs", "1"], false),
      (["train", "--train", input, "--model", path("m"), "--epochs", "1"], true),
    ] {
      let errors = try appending(to: input)
      let result = try runTrellis(
        arguments, stdout: bothStreams ? errors : nil, stderr: errors)
      try errors.close()
      XCTAssertEqual(result.exitCode, 1, result.summary)
      XCTAssertFalse(result.crashed, result.summary)
    }
    let printed = try appending(to: config)
    let result = try runTrellis(
      ["train", "--config", config, "--train", input, "--print-config"], stdout: printed)
    try printed.close()
    assertFailed(result, mentioning: ["\(config): is also standard output"])
    XCTAssertEqual(
      try [input, config].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }, originals)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
  }

  /// A model written over another keeps the permissions the user gave the file.
  func testAReplacedModelKeepsItsPermissions() throws {
    let model = path("m")
    assertSucceeded(try trellis(train + ["--model", model]))
    XCTAssertEqual(chmod(model, 0o640), 0)
    assertSucceeded(try trellis(train + ["--model", model, "--seed", "2"]))
    let attributes = try FileManager.default.attributesOfItem(atPath: model)
    XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o640)
    // And, as root, its owner and group (the group may be what lets others read it): the file
    // became root's.
    guard getuid() == 0 else { return }
    XCTAssertEqual(chown(model, 65534, 65534), 0)
    assertSucceeded(try trellis(train + ["--model", model, "--seed", "3"]))
    var status = stat()
    XCTAssertEqual(stat(model, &status), 0)
    XCTAssertEqual([status.st_uid, status.st_gid], [65534, 65534])
    XCTAssertEqual(status.st_mode & 0o7777, 0o640)
  }

  /// A model write that the system refuses (here the file-size limit, its signal ignored as a
  /// shell's `trap '' XFSZ` does) names the system's reason, not Foundation's "error 512",
  /// and leaves no file.
  /// Past `ulimit -f` a write fails with EFBIG, which the command reports; SIGXFSZ, which the
  /// shell leaves at its default here, had ended it silently (status 153) with its temporary
  /// file left.
  func testAFailedModelWriteSaysWhy() throws {
    let (status, message) = try trellisInShell(
      #"ulimit -f 64; exec "$0" "$@""#, train + ["--model", path("m")])
    XCTAssertEqual(status, 1, message)
    XCTAssertEqual(message, "Error: \(path("m")): cannot be written: File too large\n")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("")), [])
  }

  /// A model written over an earlier one is written beside it and renamed into place: a write
  /// that fails (here past `ulimit -f`) leaves the earlier model's bytes, and one that succeeds
  /// gives the path a new file (a new inode) rather than rewriting the old one in place, which
  /// a reader holding it open would see change under it. Written in place, the failed write had
  /// truncated the earlier model and then removed it (a mutant of `writeAtomically` no other
  /// test caught).
  func testAModelWriteReplacesTheEarlierModelWholeOrNotAtAll() throws {
    let shared = try sharedModel()
    let earlier = try Data(contentsOf: URL(fileURLWithPath: shared))
    // The directory's files: the two models, and no temporary file left.
    let files = Set(["m", URL(fileURLWithPath: shared).lastPathComponent])
    try earlier.write(to: URL(fileURLWithPath: path("m")))
    let (status, message) = try trellisInShell(
      #"ulimit -f 64; exec "$0" "$@""#, train + ["--model", path("m")])
    XCTAssertEqual(status, 1, message)
    XCTAssertTrue(message.contains("File too large"), message)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("m"))), earlier)
    XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: path(""))), files)
    func inode() -> UInt64 {
      var info = stat()
      return stat(path("m"), &info) == 0 ? UInt64(info.st_ino) : 0
    }
    let before = inode()
    assertSucceeded(try trellis(train + ["--model", path("m")]))
    XCTAssertNotEqual(inode(), before)
    XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: path(""))), files)
  }

  func testOutputLocationsAreCheckedBeforeTraining() throws {
    assertFailed(
      try trellis(train + ["--model", path("m"), "--checkpoint", path("missing/ck")]),
      mentioning: ["missing is missing or not writable"])
    assertFailed(
      try trellis(train + ["--model", path("newdir") + "/"]), mentioning: ["names a directory"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("newdir")))
    try FileManager.default.createDirectory(atPath: path("logs"), withIntermediateDirectories: true)
    let log = try trellis(train + ["--model", path("m"), "--log", path("logs")])
    assertFailed(log, mentioning: ["logs: is a directory, not a file (--log)"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
  }

  func testStaleTemporaryFilesOfTheSameTargetAreRemoved() throws {
    // PID 2^22 + 1 is above Linux's default pid_max, so no live process owns it.
    let stale = try write("half a model", to: ".m.4194305.tmp")
    assertSucceeded(try trellis(train + ["--model", path("m")]))
    XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
  }

  func testResumingACompletedRunWritesTheModel() throws {
    let model = path("m")
    let checkpoint = path("m.checkpoint")
    assertSucceeded(try trellis(train + ["--model", model, "--keep-checkpoint"]))
    try FileManager.default.removeItem(atPath: model)
    assertSucceeded(
      try trellis(train + ["--model", model, "--checkpoint", checkpoint, "--resume"]))
    assertSucceeded(try trellis(["tag", "--model", model, PackagePaths.tiny("test")]))
  }

  /// A run refused after its files were checked (an earlier run's checkpoint not resumed, or
  /// vectors that cannot be read) leaves the log as it was: it had emptied it, the interrupted
  /// run's epochs with it, before the refusal told the user to resume that run.
  func testARefusedRunLeavesTheLogAsItWas() throws {
    let (model, log) = (path("m"), path("run.log"))
    assertSucceeded(try trellis(train + ["--model", model, "--log", log, "--keep-checkpoint"]))
    let before = try contents(of: log)
    XCTAssertFalse(before.isEmpty)
    assertFailed(
      try trellis(train + ["--model", model, "--log", log]), mentioning: ["--resume"])
    let vectors = try write("flights 0.5\n", to: "vectors.txt")
    assertFailed(
      try trellis(
        train + ["--model", path("n"), "--log", log, "--embeddings", vectors]),
      mentioning: [vectors])
    XCTAssertEqual(try contents(of: log), before)
    // A run that trains replaces the log: one run's records, not two runs'.
    try FileManager.default.removeItem(atPath: model + ".checkpoint")
    assertSucceeded(try trellis(train + ["--model", model, "--log", log]))
    let after = try contents(of: log)
    XCTAssertEqual(after.split(separator: "\n").count, before.split(separator: "\n").count)
    XCTAssertTrue(after.hasPrefix(#"{"recipe":"#))
  }

  /// With standard error closed, `--log` was opened as descriptor 2 and took the progress
  /// lines between its records; now they fail to be written, as on a closed descriptor, and
  /// the run ends with status 1 after writing its model and a log of JSON records alone.
  func testAClosedStandardErrorLeavesTheLogJSON() throws {
    let (model, log) = (path("m"), path("run.log"))
    let arguments = train.filter { $0 != "--quiet" } + ["--model", model, "--log", log]
    let (status, _) = try trellisInShell(#"exec "$0" "$@" 2>&-"#, arguments)
    XCTAssertEqual(status, 1)
    XCTAssertNoThrow(try ModelFile.read(from: model))
    let records = try contents(of: log).split(separator: "\n")
    XCTAssertFalse(records.isEmpty)
    for record in records {
      XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(record.utf8)), String(record))
    }
  }

  func testWriteErrorsOnStandardOutputFailLoudly() throws {
    let model = try sharedModel()
    let full = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
    let commands: [[String]] = [
      ["tag", "--model", model, PackagePaths.tiny("test")],
      ["eval", "--model", model, "--test", PackagePaths.tiny("test")],
      ["score", try write("a O O\nb B-X B-X\n", to: "scored.conll")],
      ["info", model], ["--version"], ["--help"], ["train", "--help"],
      ["bench", "--model", model, "--test", PackagePaths.tiny("test"), "--repetitions", "1"],
    ]
    for arguments in commands {
      let result = try runTrellis(arguments, stdout: full)
      XCTAssertFalse(result.crashed, result.summary)
      XCTAssertEqual(result.exitCode, 1, result.summary)
      XCTAssertTrue(
        result.stderr.contains("Error: standard output: No space left on device"), result.summary)
    }
  }

  func testAClosedPipeEndsQuietly() throws {
    let model = try sharedModel()
    let big = try write(
      String(repeating: try contents(of: PackagePaths.tiny("test")), count: 200), to: "big.conll")
    let pipe = Pipe()
    try pipe.fileHandleForReading.close()
    let result = try runTrellis(["tag", "--model", model, big], stdout: pipe.fileHandleForWriting)
    XCTAssertFalse(result.crashed, result.summary)
    XCTAssertEqual(result.exitCode, 141, result.summary)
    XCTAssertEqual(result.stderr, "")
  }
}
