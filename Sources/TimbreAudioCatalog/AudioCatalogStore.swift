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
        try db.query("SELECT 1 FROM audio_features WHERE content_sha256 = $1", [contentSHA256],
                     purpose: "look for analysed audio by content hash").rowCount > 0
    }

    public func store(_ track: AnalysedTrack) throws -> Bool {
        let externalID = "audio:sha256:" + track.contentSHA256.hexString
        // The title tag names the track; the file name only when there is none.
        let title = track.tags.title ?? URL(fileURLWithPath: track.path).deletingPathExtension().lastPathComponent
        var metadata = ["source": "audio ingest"]
        if let artist = track.tags.artist { metadata["artist"] = artist }
        if let album = track.tags.album { metadata["album"] = album }
        let extractor = try JSONEncoder().encode(track.configuration.catalogDescription)
        return try db.transaction {
            // DO UPDATE (a no-op) rather than DO NOTHING so RETURNING gives the id of an existing item.
            let item = try db.query("""
                INSERT INTO items (external_id, title, metadata) VALUES ($1, $2, $3)
                ON CONFLICT (external_id) DO UPDATE SET external_id = EXCLUDED.external_id
                RETURNING id
                """, [externalID, title, PostgresJSONB(try sortedJSON(metadata))], purpose: "store the item of \(track.path)")
            let itemID = try item.scalar(Int64.self)
            let inserted = try db.query("""
                INSERT INTO audio_features (item_id, content_sha256, source_path, format, sample_rate, channels,
                                            duration_s, n_coefficients, n_frames, extractor, mfcc)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT DO NOTHING
                """, [
                    itemID, track.contentSHA256, track.path, track.format.description,
                    track.sampleRate, track.channelCount, track.duration,
                    track.mfcc.rowCount, track.mfcc.columnCount,
                    PostgresJSONB(String(decoding: extractor, as: UTF8.self)), track.mfcc.littleEndianBytes,
                ], purpose: "store the audio features of \(track.path)")
            return inserted.affectedRows == 1
        }
    }

    /// The stored MFCC sequence of a track (by item external id), or nil if it has none.
    public func mfcc(ofItem externalID: String) throws -> FeatureMatrix? {
        try storedMFCC("""
            SELECT a.n_coefficients, a.n_frames, a.mfcc FROM audio_features a JOIN items i ON i.id = a.item_id
            WHERE i.external_id = $1
            """, key: externalID)
    }

    /// The stored MFCC sequence of the audio with this content hash, or nil if none is stored.
    public func mfcc(ofContent sha256: [UInt8]) throws -> FeatureMatrix? {
        try storedMFCC("SELECT n_coefficients, n_frames, mfcc FROM audio_features WHERE content_sha256 = $1", key: sha256)
    }

    /// Runs `query` (columns n_coefficients, n_frames, mfcc; one parameter) with `key`.
    private func storedMFCC(_ query: String, key: any PostgresEncodable) throws -> FeatureMatrix? {
        guard let row = try db.query(query, [key], purpose: "load a stored MFCC sequence").first else { return nil }
        return try FeatureMatrix(littleEndianBytes: try row.bytes("mfcc"), rowCount: try row.int("n_coefficients"),
                                 columnCount: try row.int("n_frames"))
    }
}
