import ArgumentParser
import Foundation

/// Options that read one file, where a second file given reads as "and this one too":
/// ArgumentParser keeps the last, so `train --config base.json --config more.json` trained
/// with the second file's settings alone, and `--train a --train b` on `b` alone, without a
/// word. Any other option given twice takes its last value, as a command line built of
/// defaults and then overrides expects.
let optionsReadingOneFile: Set = ["config", "train", "dev", "test", "embeddings"]

/// The message refusing one of `optionsReadingOneFile` that `command` takes once, given more
/// than once in `arguments` (the subcommand's, before any `--`), or nil.
func repeatedOptionRefusal(in arguments: ArraySlice<String>, of command: ParsableCommand.Type)
  -> String?
{
  let words = arguments.prefix { $0 != "--" }
  let written = words.filter { $0.hasPrefix("--") }.map(optionName)
    .filter(optionsReadingOneFile.contains)
  // Most command lines give none of them twice: the command's options are not looked up.
  guard Set(written).count < written.count else { return nil }
  var (single, takesValue) = optionNames(of: command)
  single.formIntersection(optionsReadingOneFile)
  var counts: [String: Int] = [:]
  var index = words.startIndex
  while index < words.endIndex {
    let word = words[index]
    index += 1
    guard word.hasPrefix("--") else { continue }
    let name = optionName(word)
    if single.contains(name) { counts[name, default: 0] += 1 }
    // A value written after its option (`--model --x`) is the option's, not an option.
    if takesValue.contains(name) && !word.contains("=") { index += 1 }
  }
  guard let (name, count) = counts.filter({ $0.value > 1 }).min(by: { $0.key < $1.key }) else {
    return nil
  }
  return "--\(name) is given \(count) times; it reads one file, and the last would replace the "
    + "others (join the files into one)"
}

/// `--name` of `--name=value` or `--name`.
private func optionName(_ word: String) -> String {
  String(word.dropFirst(2).prefix { $0 != "=" })
}

/// The long names of `command`'s options that take one value, and of all that take a value,
/// from ArgumentParser's description of the command.
private func optionNames(of command: ParsableCommand.Type) -> (
  single: Set<String>, takesValue: Set<String>
) {
  guard
    let description = try? JSONSerialization.jsonObject(with: Data(command._dumpHelp().utf8))
      as? [String: Any],
    let arguments = (description["command"] as? [String: Any])?["arguments"] as? [[String: Any]]
  else { return ([], []) }
  var (single, takesValue): (Set<String>, Set<String>) = ([], [])
  for argument in arguments where argument["kind"] as? String == "option" {
    let names = (argument["names"] as? [[String: Any]] ?? [])
      .filter { $0["kind"] as? String == "long" }.compactMap { $0["name"] as? String }
    takesValue.formUnion(names)
    if argument["isRepeating"] as? Bool == false { single.formUnion(names) }
  }
  return (single, takesValue)
}
