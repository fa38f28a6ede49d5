import Foundation
import TimbreAudio
import TimbreCatalog
import TimbreCore

/// Stores analysed tracks in `items` + `audio_features`, one transaction per track.
///
/// Concurrency: every worker (thread or process) has its own connection. A track's item is keyed
/// by its content hash (external_id "audio:sha256:<hex>") and `audio_features.content_sha256` is
/// unique, so two workers racing on the same content both succeed and one row survives
/// (INSERT … ON CONFLICT); no row claiming is needed because the work list is the set of files.
public final class AudioCatalogStore: AudioFeatureStore {
    private let db: PostgresConnection

    public init(db: PostgresConnection) { self.db = db }

    public func contains(contentSHA256: [UInt8]) throws -> Bool {
        try db.query("SELECT 1 FROM audio_features WHERE content_sha256 = $1", binary: [contentSHA256]).rowCount > 0
    }

    public func store(_ track: AnalysedTrack) throws -> Bool {
        let externalID = "audio:sha256:" + track.contentSHA256.hexString
        // The title tag names the track; the file name only when there is none.
        let title = track.tags.title ?? URL(fileURLWithPath: track.path).deletingPathExtension().lastPathComponent
        var metadata = ["source": "audio ingest"]
        if let artist = track.tags.artist { metadata["artist"] = artist }
        if let album = track.tags.album { metadata["album"] = album }
        let extractor = try JSONEncoder().encode(track.configuration.catalogDescription)
        func text(_ value: String) -> [UInt8] { Array(value.utf8) }
        return try db.transaction {
            // DO UPDATE (a no-op) rather than DO NOTHING so RETURNING gives the id of an existing item.
            let item = try db.query("""
                INSERT INTO items (external_id, title, metadata) VALUES ($1::text, $2::text, $3::text::jsonb)
                ON CONFLICT (external_id) DO UPDATE SET external_id = EXCLUDED.external_id
                RETURNING id::text
                """, binary: [text(externalID), text(title), text(try sortedJSON(metadata))])
            guard let itemID = item.string(0, 0) else { throw AudioError.library("\(track.path): catalog returned no item id") }
            let inserted = try db.query("""
                INSERT INTO audio_features (item_id, content_sha256, source_path, format, sample_rate, channels,
                                            duration_s, n_coefficients, n_frames, extractor, mfcc)
                VALUES ($1::text::bigint, $2, $3::text, $4::text, $5::text::integer, $6::text::integer,
                        $7::text::double precision, $8::text::integer, $9::text::integer, $10::text::jsonb, $11)
                ON CONFLICT DO NOTHING
                """, binary: [
                    text(itemID), track.contentSHA256, text(track.path), text(track.format.description),
                    text(String(track.sampleRate)), text(String(track.channelCount)), text(String(track.duration)),
                    text(String(track.mfcc.rowCount)), text(String(track.mfcc.columnCount)),
                    Array(extractor), track.mfcc.littleEndianBytes,
                ])
            return inserted.affectedRows == 1
        }
    }

    /// The stored MFCC sequence of a track (by item external id), or nil if it has none.
    public func mfcc(ofItem externalID: String) throws -> FeatureMatrix? {
        try storedMFCC("""
            SELECT a.n_coefficients, a.n_frames, a.mfcc FROM audio_features a JOIN items i ON i.id = a.item_id
            WHERE i.external_id = $1
            """, key: Array(externalID.utf8))
    }

    /// The stored MFCC sequence of the audio with this content hash, or nil if none is stored.
    public func mfcc(ofContent sha256: [UInt8]) throws -> FeatureMatrix? {
        try storedMFCC("SELECT n_coefficients, n_frames, mfcc FROM audio_features WHERE content_sha256 = $1", key: sha256)
    }

    /// Runs `query` (columns n_coefficients, n_frames, mfcc; one parameter) with `key`.
    private func storedMFCC(_ query: String, key: [UInt8]) throws -> FeatureMatrix? {
        let row = try db.query(query, binary: [key], resultsBinary: true)
        guard row.rowCount == 1 else { return nil }
        return try FeatureMatrix(littleEndianBytes: row.bytes(0, 2)!, rowCount: Int(row.binaryInteger(0, 0)!),
                                 columnCount: Int(row.binaryInteger(0, 1)!))
    }
}
