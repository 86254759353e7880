//! Targets over the envelope protocol: the manifest a tablet signs and the envelope the server
//! verifies, checks and opens.
//!
//! A manifest is read only after its Ed25519 signature verifies, so random bytes would never
//! get past the signature. The bodies therefore sign whatever manifest bytes they are given
//! with a device key of their own (fixed, so a crash replays), and open with a sealing key of
//! their own: what is fuzzed is everything a device holding a valid key could send.

use fieldkit_protocol::{
    DevicePublicKey, DeviceSigningKey, SealingKeyPair, SealingPublicKey, check_parts, open,
    verify_manifest,
};
use fieldkit_protocol::{PlainPart, SealRequest, SealedEnvelope, seal};
use ring::digest::{SHA256, digest};
use ring::signature::{Ed25519KeyPair, KeyPair};

/// Between the manifest and each part in an `envelope_open` input. Long and unlikely, so
/// mutations of the JSON and of the ciphertexts rarely make or break one by chance.
pub const PART_SEPARATOR: &[u8] = b"\n--fieldkit-fuzz-part--\n";

/// Set in an `envelope_open` input's first byte: rewrite the manifest's part hashes and sizes
/// to match the parts given, so the fuzzer reaches key opening and part decryption instead of
/// stopping at the hash check every time.
const FIX_PART_HASHES: u8 = 1;

const DEVICE_ID: &str = "FUZZ01";
const SEALING_KEY_ID: &str = "seal-fuzz-1";
const DEVICE_SEED: [u8; 32] = [0x5a; 32];
const SEALING_SECRET: [u8; 32] = [0x3c; 32];

/// The keys every envelope target uses: a device signing key and the server's sealing key,
/// both fixed so that the seeds (written by `examples/seeds.rs`) and any crash replay.
pub struct FuzzKeys {
    pub device: DeviceSigningKey,
    pub sealing: SealingKeyPair,
}

impl FuzzKeys {
    pub fn new() -> Self {
        Self {
            device: DeviceSigningKey::from_pkcs8(DEVICE_ID, &device_pkcs8())
                .unwrap_or_else(|e| panic!("the fuzz device key: {e}")),
            sealing: SealingKeyPair::from_secret_bytes(SEALING_KEY_ID, &SEALING_SECRET)
                .unwrap_or_else(|e| panic!("the fuzz sealing key: {e}")),
        }
    }

    pub fn device_public(&self) -> DevicePublicKey {
        self.device.public_key()
    }

    pub fn sealing_public(&self) -> SealingPublicKey {
        self.sealing.public_key()
    }

    /// The device's signature over `message`, as the tablet makes it.
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        // The protocol keeps signing to itself; ring signs with the same key from its PKCS#8.
        Ed25519KeyPair::from_pkcs8(self.device.pkcs8())
            .unwrap_or_else(|e| panic!("the fuzz device key: {e}"))
            .sign(message)
            .as_ref()
            .to_vec()
    }

    /// Seal `parts` as a tablet does (for seeds).
    pub fn seal(&self, envelope_id: &str, parts: &[PlainPart]) -> SealedEnvelope {
        let request = SealRequest {
            envelope_id,
            case_number: "LV01/FUZZ01/2026/000001-0",
            created_at: 1_790_000_000,
            parts,
        };
        seal(
            &request,
            &self.sealing_public(),
            &self.device,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap_or_else(|e| panic!("sealing a seed: {e}"))
    }
}

impl Default for FuzzKeys {
    fn default() -> Self {
        Self::new()
    }
}

/// An Ed25519 PKCS#8 v2 document (RFC 8410, the layout ring writes) for a fixed seed.
fn device_pkcs8() -> Vec<u8> {
    let key = Ed25519KeyPair::from_seed_unchecked(&DEVICE_SEED)
        .unwrap_or_else(|e| panic!("the fuzz device seed: {e}"));
    let mut document = vec![
        0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    document.extend_from_slice(&DEVICE_SEED);
    document.extend_from_slice(&[0xa1, 0x23, 0x03, 0x21, 0x00]);
    document.extend_from_slice(key.public_key().as_ref());
    document
}

thread_local! {
    // Parsing the PKCS#8 document and deriving keys is slower than most inputs: once a thread.
    static KEYS: FuzzKeys = FuzzKeys::new();
}

/// Manifest bytes as a device would sign them: verified, read, and checked against parts.
pub fn manifest(data: &[u8]) {
    KEYS.with(|keys| {
        let device = keys.device_public();
        // Someone else's signature never verifies, whatever the bytes.
        assert!(verify_manifest(data, &[0u8; 64], &device).is_err());
        let Ok(manifest) = verify_manifest(data, &keys.sign(data), &device) else {
            return;
        };
        assert_eq!(manifest.device_id, device.device_id);
        for (position, entry) in manifest.parts.iter().enumerate() {
            assert_eq!(entry.index as usize, position);
        }
        // Whatever the manifest lists, checking parts against it answers without panicking.
        let none: Vec<Vec<u8>> = Vec::new();
        let _ = check_parts(&manifest, &none);
        let empty: Vec<Vec<u8>> = manifest.parts.iter().map(|_| Vec::new()).collect();
        let _ = check_parts(&manifest, &empty);
    });
}

/// A whole envelope: flags, then the manifest and the parts joined by [`PART_SEPARATOR`]. The
/// manifest is signed here; with [`FIX_PART_HASHES`] its part hashes are made to match first.
pub fn envelope_open(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut pieces = split(rest, PART_SEPARATOR).into_iter();
    let Some(mut manifest_bytes) = pieces.next().map(<[u8]>::to_vec) else {
        return;
    };
    let parts: Vec<Vec<u8>> = pieces.map(<[u8]>::to_vec).collect();
    if flags & FIX_PART_HASHES != 0 {
        manifest_bytes = with_part_hashes(&manifest_bytes, &parts).unwrap_or(manifest_bytes);
    }
    KEYS.with(|keys| {
        let device = keys.device_public();
        let signature = keys.sign(&manifest_bytes);
        let envelope = SealedEnvelope {
            manifest_bytes,
            signature,
            parts,
        };
        let Ok(plain) = open(&envelope, &keys.sealing, &device) else {
            return;
        };
        // Opened means: signed, every listed part present and authentic, sizes as declared.
        let manifest = verify_manifest(&envelope.manifest_bytes, &envelope.signature, &device)
            .unwrap_or_else(|e| panic!("opened, but the manifest does not verify: {e}"));
        assert_eq!(plain.len(), manifest.parts.len());
        assert!(check_parts(&manifest, &envelope.parts).is_ok());
        for (part, entry) in plain.iter().zip(&manifest.parts) {
            assert_eq!(part.kind, entry.kind);
            assert_eq!(part.bytes.len() as u64, entry.plain_size);
        }
    });
}

fn split<'a>(bytes: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = bytes;
    while let Some(at) = rest
        .windows(separator.len())
        .position(|window| window == separator)
    {
        pieces.push(&rest[..at]);
        rest = &rest[at + separator.len()..];
    }
    pieces.push(rest);
    pieces
}

/// The manifest with each listed part's `sha256` and `size` set to those of the part at its
/// position, when the bytes are a JSON object with a `parts` array.
fn with_part_hashes(manifest: &[u8], parts: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(manifest).ok()?;
    let entries = value.get_mut("parts")?.as_array_mut()?;
    for (entry, part) in entries.iter_mut().zip(parts) {
        let entry = entry.as_object_mut()?;
        entry.insert(
            "sha256".into(),
            hex_string(digest(&SHA256, part).as_ref()).into(),
        );
        entry.insert("size".into(), (part.len() as u64).into());
    }
    serde_json::to_vec(&value).ok()
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
