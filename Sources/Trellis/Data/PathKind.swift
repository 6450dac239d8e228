import Foundation

/// What a path names: a kind of file, or none.
enum PathKind: Equatable {
  case absent, regular, directory, symbolicLink, special
}

/// What `path` names now, by `lstat` (symbolic links are not followed).
func pathKind(_ path: String) -> PathKind {
  var info = stat()
  guard lstat(path, &info) == 0 else { return .absent }
  return PathKind(mode: info.st_mode)
}

/// Whether `path` can name only a directory: it ends in "/", or its last component is "." or
/// "..". Foundation's `URL(fileURLWithPath:)` drops the slash and the dot, so a file written
/// to "data.conll/" through it replaced data.conll.
func namesOnlyADirectory(_ path: String) -> Bool {
  let last = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
  return !path.isEmpty && (last.isEmpty || last == "." || last == "..")
}

/// What `path` leads to through its symbolic links (`.absent` for a link that leads nowhere).
func followedPathKind(_ path: String) -> PathKind {
  var info = stat()
  guard stat(path, &info) == 0 else { return .absent }
  return PathKind(mode: info.st_mode)
}

extension PathKind {
  /// The kind of a file whose `st_mode` is `mode`.
  init(mode: mode_t) {
    self =
      switch mode & S_IFMT {
      case S_IFREG: .regular
      case S_IFDIR: .directory
      case S_IFLNK: .symbolicLink
      default: .special
      }
  }
}
