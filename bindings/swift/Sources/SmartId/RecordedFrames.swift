import Foundation
import SmartIdFFI

/// Recorded frames for desktop testing and replay (works on Linux): a YUV4MPEG2 file with 4:2:0
/// chroma, as I420 frames.
public enum SIDRecordedFrames {
    /// Largest width or height accepted (as the core's frame checks).
    static let maxSide = 8192

    /// The frames of a YUV4MPEG2 (`C420*`, 8-bit) file at `path`. Timestamps advance at `fps`
    /// (default: the file's own `F` rate, else 29.97). Throws 1004 for a file that is not Y4M, 1003
    /// for other chroma layouts, 1001 for an unsupported size; a truncated frame throws 1004 from
    /// `nextFrame()`.
    public static func y4m(path: String, fps: Double? = nil) throws -> SIDFrameSource {
        if let fps, !(fps.isFinite && fps > 0) {
            throw SIDError(message: "fps must be a positive number", errorCode: SIDError.configInvalid)
        }
        let name = (path as NSString).lastPathComponent
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SIDError(message: "cannot open Y4M file \(name)", errorCode: SIDError.imageDecode)
        }
        let input = ByteReader(handle)
        do {
            let header = try input.line() ?? ""
            let fields = header.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.first == "YUV4MPEG2" else {
                throw SIDError(message: "\(name) is not a YUV4MPEG2 file", errorCode: SIDError.imageDecode)
            }
            var (width, height, rate) = (0, 0, 29.97)
            for field in fields.dropFirst() {
                let value = field.dropFirst()
                switch field.first {
                case "W": width = Int(value) ?? 0
                case "H": height = Int(value) ?? 0
                case "F":
                    let ratio = value.split(separator: ":").compactMap { Double($0) }
                    if ratio.count == 2, ratio[0] > 0, ratio[1] > 0 { rate = ratio[0] / ratio[1] }
                case "C":
                    // 8-bit 4:2:0 only (C420p10 and the like have 2-byte samples).
                    guard ["420", "420jpeg", "420paldv", "420mpeg2"].contains(String(value)) else {
                        throw SIDError(message: "only 8-bit 4:2:0 Y4M is supported, not C\(value)", errorCode: 1003)
                    }
                default: break
                }
            }
            guard (2...maxSide).contains(width), (2...maxSide).contains(height), width % 2 == 0, height % 2 == 0 else {
                throw SIDError(message: "Y4M size \(width)x\(height) is not supported", errorCode: 1001)
            }
            return Y4MFrames(input: input, width: width, height: height, fps: fps ?? rate)
        } catch {
            input.close()
            throw SIDError.from(error)
        }
    }

    /// Whole milliseconds since the first frame, as the Kotlin side computes them.
    static func timestamp(_ index: Int, fps: Double) -> UInt64 {
        UInt64((Double(index) * 1000.0 / fps).rounded(.towardZero))
    }
}

/// A Y4M file's frames, read as they are asked for.
final class Y4MFrames: SIDFrameSource {
    private let input: ByteReader
    private let width: Int
    private let height: Int
    private let fps: Double
    private var index = 0

    init(input: ByteReader, width: Int, height: Int, fps: Double) {
        self.input = input
        self.width = width
        self.height = height
        self.fps = fps
    }

    func nextFrame() throws -> CameraFrame? {
        guard let tag = try input.line() else { return nil }
        guard tag == "FRAME" || tag.hasPrefix("FRAME ") else {
            throw SIDError(message: "malformed Y4M frame header", errorCode: SIDError.imageDecode)
        }
        let size = width * height * 3 / 2
        let data = try input.bytes(size)
        guard data.count == size else {
            throw SIDError(message: "truncated Y4M frame", errorCode: SIDError.imageDecode)
        }
        defer { index += 1 }
        return CameraFrame(
            format: .i420,
            width: UInt32(width),
            height: UInt32(height),
            rowStride: UInt32(width),
            chromaStride: UInt32(width / 2),
            rotationDegrees: 0,
            timestampMs: SIDRecordedFrames.timestamp(index, fps: fps),
            data: data
        )
    }

    func close() { input.close() }
}

/// Buffered reads from a file: header lines (bounded) and whole frames.
final class ByteReader {
    /// Y4M header lines are short; anything longer is not a Y4M file.
    static let maxLine = 256
    private let handle: FileHandle
    private var buffer = Data()
    private var position = 0
    private var closed = false

    init(_ handle: FileHandle) { self.handle = handle }

    /// The next line without its newline; nil at the end of the file.
    func line() throws -> String? {
        var bytes: [UInt8] = []
        while true {
            guard let b = try byte() else {
                return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
            }
            if b == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            if bytes.count >= Self.maxLine {
                throw SIDError(message: "Y4M header line too long", errorCode: SIDError.imageDecode)
            }
            bytes.append(b)
        }
    }

    /// Up to `count` bytes (fewer only at the end of the file).
    func bytes(_ count: Int) throws -> Data {
        var out = Data()
        out.reserveCapacity(count)
        while out.count < count {
            if position >= buffer.count, try !fill() { break }
            let take = min(count - out.count, buffer.count - position)
            out.append(buffer[(buffer.startIndex + position)..<(buffer.startIndex + position + take)])
            position += take
        }
        return out
    }

    func close() {
        guard !closed else { return }
        closed = true
        try? handle.close()
    }

    private func byte() throws -> UInt8? {
        if position >= buffer.count, try !fill() { return nil }
        defer { position += 1 }
        return buffer[buffer.startIndex + position]
    }

    /// Reads the next chunk; false at the end of the file.
    private func fill() throws -> Bool {
        guard !closed else { return false }
        let chunk: Data?
        do {
            chunk = try handle.read(upToCount: 1 << 16)
        } catch {
            throw SIDError(message: "cannot read the Y4M file", errorCode: SIDError.imageDecode)
        }
        guard let chunk, !chunk.isEmpty else { return false }
        buffer = chunk
        position = 0
        return true
    }
}
