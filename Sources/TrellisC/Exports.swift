import Foundation
import Trellis

// The C functions of `include/trellis.h`. No Swift type crosses the boundary: handles are
// opaque pointers to a retained `LoadedModel`, strings are malloc'd UTF-8, and every error is
// caught here and handed back as a message, since an error thrown (or a trap) through a C
// frame would take the caller's process down.

/// What a handle points at: the model, the path it came from (for `trellis_model_info`) and
/// its label tables (for `trellis_tag_tokens`). Immutable after loading, and `TaggerModel` is
/// safe for concurrent tagging, so one handle serves any number of threads.
final class LoadedModel {
  let model: TaggerModel
  let labelTable: LabelTable
  /// `trellis_model_info`'s JSON, taken at load: the file's size then, whatever the path
  /// holds later (a model replaced by a newer one, or the working directory changed).
  let info: String

  init(model: TaggerModel, path: String) throws {
    self.model = model
    labelTable = LabelTable(model)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    info = String(
      decoding: try encoder.encode(ModelDescription(model: model, file: path)), as: UTF8.self)
  }
}

/// The version string, allocated once and never freed (the header promises a static string).
private let versionCString: UnsafeMutablePointer<CChar> = strdup(trellisVersion)!

@_cdecl("trellis_version")
public func trellis_version() -> UnsafePointer<CChar> {
  UnsafePointer(versionCString)
}

@_cdecl("trellis_model_load")
public func trellis_model_load(
  _ path: UnsafePointer<CChar>?, _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> UnsafeMutableRawPointer? {
  reportingErrors(to: error) {
    guard let path else { throw CallError("no model path (NULL)") }
    // `String(cString:)` put U+FFFD in place of invalid bytes, and the file was then looked
    // for under that other name ("no such model file").
    guard let pathString = String(validatingCString: path) else {
      throw CallError(
        "the model path \"\(escapingInvalidUTF8(bytes(ofCString: path)))\" is not valid UTF-8 "
          + "(each invalid byte shown as \\xHH); paths are read as UTF-8")
    }
    let model = try ModelFile.read(from: pathString)
    model.prepareForTagging()  // at load, as trellis-serve does: the first call does not pay it
    return Unmanaged.passRetained(try LoadedModel(model: model, path: pathString)).toOpaque()
  }
}

@_cdecl("trellis_tag_jsonl")
public func trellis_tag_jsonl(
  _ handle: UnsafeRawPointer?, _ jsonl: UnsafePointer<CChar>?, _ options: UnsafePointer<CChar>?,
  _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> UnsafeMutablePointer<CChar>? {
  reportingErrors(to: error) {
    let loaded = try loadedModel(handle)
    guard let jsonl else { throw CallError("no input (NULL)") }
    let taggingOptions = try CallOptions.parse(options.map(CallOptions.text) ?? "")
    let lines = try JSONLinesInput.lines(of: jsonl)
    let answers = try loaded.model.tagJSONLines(lines, options: taggingOptions)
    return try CString.joiningLines(answers.map(\.line))
  }
}

@_cdecl("trellis_model_info")
public func trellis_model_info(
  _ handle: UnsafeRawPointer?, _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> UnsafeMutablePointer<CChar>? {
  reportingErrors(to: error) {
    return try CString.copy(try loadedModel(handle).info)
  }
}

@_cdecl("trellis_free_string")
public func trellis_free_string(_ string: UnsafeMutablePointer<CChar>?) {
  free(string)
}

@_cdecl("trellis_model_free")
public func trellis_model_free(_ handle: UnsafeMutableRawPointer?) {
  guard let handle else { return }
  Unmanaged<LoadedModel>.fromOpaque(handle).release()
}

/// The model behind a handle, without taking ownership (the caller keeps its reference).
func loadedModel(_ handle: UnsafeRawPointer?) throws -> LoadedModel {
  guard let handle else { throw CallError("no model (NULL handle)") }
  return Unmanaged<LoadedModel>.fromOpaque(handle).takeUnretainedValue()
}

/// Runs `body`; on a thrown error returns nil and stores the error's message in `*error`
/// (when the caller gave a place for it), as a string the caller frees.
func reportingErrors<Result>(
  to message: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ body: () throws -> Result?
) -> Result? {
  message?.pointee = nil
  do {
    return try body()
  } catch {
    // No message when even its bytes cannot be allocated: the NULL result still says failure.
    message?.pointee = try? CString.copy(CallError.message(of: error))
    return nil
  }
}
