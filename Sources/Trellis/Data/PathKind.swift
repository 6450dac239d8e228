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
