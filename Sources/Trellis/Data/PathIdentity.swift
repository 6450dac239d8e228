import Foundation

// What a path names, for the checks of `FileRoles` (OutputFiles.swift): the file it leads to
// through symbolic links, and links that name a file descriptor.

/// The (device, inode) of the file `path` names, following links; nil when there is none.
func fileIdentity(_ path: String) -> [UInt64]? {
  var info = stat()
  guard stat(path, &info) == 0 else { return nil }
  return [UInt64(info.st_dev), UInt64(info.st_ino)]
}

/// What `path` names for the comparisons of `FileRoles.check`: an existing file's (device,
/// inode), following links; for a file not yet there, its directory's (device, inode) and its
/// name, so that two spellings of one new file (`n.model`, `./n.model`, `d/../n.model`, an
/// absolute path) are the same output. Nil when not even the directory exists.
enum PathIdentity: Equatable {
  case existing([UInt64])
  case new(directory: [UInt64], name: String)

  init?(_ path: String) {
    if let identity = fileIdentity(path) {
      self = .existing(identity)
      return
    }
    // A dangling symbolic link is written at its target (`replacementTarget`).
    let url = URL(fileURLWithPath: replacementTarget(path))
    guard let directory = fileIdentity(url.deletingLastPathComponent().path) else { return nil }
    self = .new(directory: directory, name: url.lastPathComponent)
  }
}

/// The path a whole-file replacement writes: a symbolic link's final target (so the link
/// survives and its target is replaced, or made when the link dangles), else `path` itself.
package func replacementTarget(_ path: String) -> String {
  pathKind(path) == .symbolicLink ? symbolicLinkHops(path).last! : path
}

/// The paths from `path` (made absolute) through each symbolic link's destination to the
/// first that is not a link, which need not exist (a dangling link's target); after 40 links,
/// the kernel's limit (ELOOP), the last is still a link.
func symbolicLinkHops(_ path: String) -> [String] {
  var hops = [URL(fileURLWithPath: path).standardizedFileURL.path]
  while hops.count <= 40, pathKind(hops.last!) == .symbolicLink,
    let next = try? FileManager.default.destinationOfSymbolicLink(atPath: hops.last!)
  {
    let directory = URL(fileURLWithPath: hops.last!).deletingLastPathComponent()
    hops.append(URL(fileURLWithPath: next, relativeTo: directory).standardizedFileURL.path)
  }
  return hops
}

/// The first link on the way from `path` to its target that names a file descriptor
/// (`/dev/stdout`, `/dev/fd/3`, `/proc/self/fd/1`), if any: such a link resolves to whatever
/// the descriptor holds (`> o` makes `/dev/stdout` name `o`), so a file replaced through it
/// would land beside that file, and a checkpoint named after it in /dev.
package func descriptorLink(_ path: String) -> String? {
  symbolicLinkHops(path).first { hop in
    // /dev/stdin, stdout, stderr; /dev/fd/N; /proc/PID/fd/N (self and thread-self included).
    let parts = hop.split(separator: "/", omittingEmptySubsequences: false)
    return pathKind(hop) == .symbolicLink
      && ((parts.count == 3 && parts[1] == "dev" && parts[2].hasPrefix("std"))
        || (parts.count == 4 && parts[1] == "dev" && parts[2] == "fd")
        || (parts.count == 5 && parts[1] == "proc" && parts[3] == "fd"))
  }
}
