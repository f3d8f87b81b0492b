import Foundation
import XCTest
@testable import Veil

/// The same cases as the Kotlin host tests (tests/kotlin), against the real model and the
/// repository's fixtures. Run on a Mac: `ios/build-xcframework.sh && (cd ios && swift test)`.
final class VeilTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("tests/fixtures")
    static let modelPath = ProcessInfo.processInfo.environment["VEIL_MODEL"]
        ?? root.appendingPathComponent("models/open-nsfw.onnx").path

    let stranger = ScanContext.from(.airDrop, senderId: "iPhone")

    func fixture(_ rel: String) throws -> Data {
        try Data(contentsOf: Self.fixtures.appendingPathComponent(rel))
    }

    func makeVeil(_ settings: FilterSettings = Veil.settings()) async throws -> Veil {
        try await Veil.load(modelPath: Self.modelPath, settings: settings)
    }

    func testBenignFixturesAreAllowed() async throws {
        let veil = try await makeVeil()
        let names = try FileManager.default
            .contentsOfDirectory(atPath: Self.fixtures.appendingPathComponent("benign").path).sorted()
        XCTAssertGreaterThanOrEqual(names.count, 10)
        for name in names {
            let result = try await veil.scan(try fixture("benign/\(name)"), context: stranger)
            XCTAssertEqual(result.verdict.action, .allow, name)
            XCTAssertFalse(result.shouldBlur)
            XCTAssertNil(result.preview, name)
            XCTAssertLessThan(result.verdict.explicitScore, 0.1, name)
        }
    }

    func testSyntheticPositivesAreBlurredAndThePreviewDecodes() async throws {
        let veil = try await makeVeil()
        for name in ["a.jpg", "b.png", "c.jpg"] {
            let result = try await veil.scan(try fixture("positive/abstract-field-\(name)"), context: stranger)
            XCTAssertEqual(result.verdict.action, .blur, name)
            XCTAssertGreaterThanOrEqual(result.verdict.explicitScore, 0.9)
            let preview = try XCTUnwrap(result.preview)
            XCTAssertEqual(preview.rgba.count, Int(preview.width) * Int(preview.height) * 4)
            let png = try preview.png()
            XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
            XCTAssertFalse(try preview.jpeg(quality: 80).isEmpty)
        }
    }

    func testFilesAndRawPixelsScan() async throws {
        let veil = try await makeVeil()
        let file = try await veil.scan(
            fileAt: Self.fixtures.appendingPathComponent("positive/abstract-field-c.png"), context: stranger)
        XCTAssertEqual(file.verdict.action, .blur)
        XCTAssertEqual(file.image.format, .png)

        let (width, height) = (300, 240)
        let pixels = Data(repeating: 128, count: width * height * 4)
        let result = try await veil.scanPixels(
            pixels, width: width, height: height, bytesPerRow: width * 4, context: stranger)
        XCTAssertEqual(result.verdict.action, .allow)
        XCTAssertEqual(result.image.format, .pixels)

        do {
            _ = try await veil.scanPixels(Data(count: 10), width: 4, height: 4, bytesPerRow: 16, context: stranger)
            XCTFail("a short buffer must be refused")
        } catch VeilError.InvalidPixelBuffer {
        }
    }

    func testCorruptImagesRaiseTheRightErrors() async throws {
        let veil = try await makeVeil()
        let sms = ScanContext.from(.sms)
        do {
            _ = try await veil.scan(try fixture("bad/truncated.jpg"), context: sms)
            XCTFail("truncated")
        } catch VeilError.Truncated {
        }
        do {
            _ = try await veil.scan(try fixture("bad/bomb-100000x100000.png"), context: sms)
            XCTFail("bomb")
        } catch VeilError.TooLarge {
        }
        do {
            _ = try await veil.scan(try fixture("bad/random-bytes.jpg"), context: sms)
            XCTFail("random bytes")
        } catch {
            switch error {
            case VeilError.Corrupt, VeilError.UnsupportedFormat:
                break
            default:
                XCTFail("unexpected \(error)")
            }
        }
        do {
            _ = try await veil.scan(fileAt: URL(fileURLWithPath: "/nonexistent/x.jpg"), context: sms)
            XCTFail("missing file")
        } catch VeilError.Io {
        }
    }

    func testModelProblemsRaiseAtConstruction() async throws {
        do {
            _ = try await Veil.load(modelPath: "/nonexistent/open-nsfw.onnx")
            XCTFail("missing model")
        } catch VeilError.ModelNotFound {
        }
        do {
            _ = try await Veil.load(model: Data("not a model".utf8))
            XCTFail("wrong bytes")
        } catch VeilError.ModelChecksum {
        }
        let strict = try await makeVeil(Veil.settings(.strict))
        XCTAssertEqual(try strict.filter.sensitivity(), .strict)
        XCTAssertEqual(try strict.modelInfo().name, "open_nsfw")
    }

    func testManyTasksScanAtOnce() async throws {
        let veil = try await makeVeil()
        let inputs: [(String, Action)] = [
            ("benign/rocket.jpg", .allow),
            ("positive/abstract-field-a.jpg", .blur),
            ("benign/coffee.webp", .allow),
            ("positive/abstract-field-b.jpg", .blur),
        ]
        let context = stranger
        let datas = try inputs.map { (try fixture($0.0), $0.1) }
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<24 {
                let (data, expected) = datas[i % datas.count]
                group.addTask { try await veil.scan(data, context: context).verdict.action == expected }
            }
            var all: [Bool] = []
            for try await ok in group { all.append(ok) }
            return all
        }
        XCTAssertEqual(results.count, 24)
        XCTAssertTrue(results.allSatisfy { $0 })
    }

    func testEvidenceIsRecordedVerifiedExportedAndWiped() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("evidence.db")
        let key = Data(repeating: 7, count: 32)

        let veil = try await makeVeil()
        do {
            _ = try await veil.incidents()
            XCTFail("no vault yet")
        } catch VeilError.NoVault {
        }
        try await veil.openVault(at: db, key: key)
        XCTAssertTrue(try veil.hasVault())
        let first = try await veil.scan(try fixture("positive/abstract-field-a.jpg"), context: stranger)
        let id = try XCTUnwrap(first.incidentId)
        let again = try await veil.scan(try fixture("positive/abstract-field-a.jpg"), context: stranger)
        XCTAssertFalse(again.modelRan)
        XCTAssertEqual(again.matchedIncident, id)
        try await veil.addEvent(incidentId: id, kind: .reported, text: "CRN 42")
        let incidents = try await veil.incidents()
        XCTAssertEqual(incidents.count, 2)
        let incident = try await veil.incident(id: id)
        XCTAssertEqual(incident.summary.sender, "iPhone")
        XCTAssertTrue(incident.events.contains { $0.kind == .reported && $0.text == "CRN 42" })
        let original = try await veil.original(id: id)
        XCTAssertEqual(original, try fixture("positive/abstract-field-a.jpg"))
        let report = try await veil.verifyVault()
        XCTAssertTrue(report.ok)
        let bundle = dir.appendingPathComponent("bundle.zip")
        let summary = try await veil.exportVault(to: bundle)
        XCTAssertEqual(summary.incidents, 2)
        XCTAssertTrue(try verifyBundle(path: bundle.path).ok)
        try await veil.closeVault()

        let other = try await makeVeil()
        do {
            try await other.openVault(at: db, key: Data(repeating: 8, count: 32))
            XCTFail("wrong key")
        } catch VeilError.WrongKey {
        }
        try await other.openVault(at: db, key: key)
        try await other.rotateKey(Data(repeating: 9, count: 32))
        try await other.wipeVault()
        XCTAssertFalse(try other.hasVault())
        XCTAssertFalse(FileManager.default.fileExists(atPath: db.path))
    }
}
