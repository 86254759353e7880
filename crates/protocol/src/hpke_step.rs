//! The one step ring cannot do: seal the envelope's content key to the server's static X25519
//! key with HPKE (RFC 9180, Base mode). Everything else in the crate uses ring.

use hpke::aead::{Aead, AesGcm256};
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::{TryCryptoRng, TryRng};
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use ring::rand::SecureRandom;
use zeroize::Zeroizing;

use crate::{EnvelopeError, SealingKeyPair, SealingPublicKey};

type Kem = X25519HkdfSha256;

/// `info` of the HPKE context: names the protocol and the recipient key, so a content key sealed
/// for another purpose or key cannot be passed off as ours.
fn info(key_id: &str) -> Vec<u8> {
    format!("fieldkit/envelope/v1/{key_id}").into_bytes()
}

/// Serves the ephemeral key's input keying material, drawn beforehand from ring's generator.
/// Drawing it first keeps a failing system generator an error instead of a panic inside hpke.
struct PrefilledIkm {
    ikm: Zeroizing<[u8; 32]>,
    served: bool,
}

impl TryRng for PrefilledIkm {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut word = [0u8; 4];
        self.try_fill_bytes(&mut word)?;
        Ok(u32::from_le_bytes(word))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut word = [0u8; 8];
        self.try_fill_bytes(&mut word)?;
        Ok(u64::from_le_bytes(word))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        // DHKEM(X25519) draws exactly one 32-byte IKM per encapsulation (RFC 9180 §7.1.3);
        // a second request would mean the KEM changed, and reusing IKM would be fatal.
        assert!(
            !self.served && dst.len() == self.ikm.len(),
            "HPKE asked for randomness other than one X25519 IKM"
        );
        dst.copy_from_slice(self.ikm.as_ref());
        self.served = true;
        Ok(())
    }
}

impl TryCryptoRng for PrefilledIkm {}

/// HPKE Base-mode single-shot seal with a given ephemeral IKM (separate so the RFC 9180 test
/// vectors can drive it).
fn seal_with_ikm<A: Aead>(
    recipient: &[u8],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    ikm_e: Zeroizing<[u8; 32]>,
) -> Result<(Vec<u8>, Vec<u8>), EnvelopeError> {
    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(recipient)
        .map_err(|_| EnvelopeError::BadKey("sealing public key must be 32 bytes"))?;
    let mut rng = PrefilledIkm {
        ikm: ikm_e,
        served: false,
    };
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<A, HkdfSha256, Kem>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
        &mut rng,
    )
    .map_err(|_| EnvelopeError::Encryption)?;
    Ok((enc.to_bytes().to_vec(), ciphertext))
}

/// Seal a content key to the server's public key. Returns (enc, sealed content key).
/// `aad` binds the envelope id so a sealed key cannot be moved to another envelope.
pub fn seal_content_key(
    recipient: &SealingPublicKey,
    envelope_id: &str,
    content_key: &[u8; 32],
    rng: &dyn SecureRandom,
) -> Result<(Vec<u8>, Vec<u8>), EnvelopeError> {
    let mut ikm = Zeroizing::new([0u8; 32]);
    rng.fill(ikm.as_mut()).map_err(|_| EnvelopeError::Random)?;
    seal_with_ikm::<AesGcm256>(
        &recipient.bytes,
        &info(&recipient.key_id),
        envelope_id.as_bytes(),
        content_key,
        ikm,
    )
}

/// Open a content key sealed by [`seal_content_key`].
pub fn open_content_key(
    key_pair: &SealingKeyPair,
    envelope_id: &str,
    enc: &[u8],
    sealed_content_key: &[u8],
) -> Result<Zeroizing<[u8; 32]>, EnvelopeError> {
    let secret = key_pair.secret_bytes();
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(secret.as_ref())
        .map_err(|_| EnvelopeError::BadKey("sealing secret key must be 32 bytes"))?;
    let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| EnvelopeError::ContentKeyUnopenable)?;
    let plain = Zeroizing::new(
        hpke::single_shot_open::<AesGcm256, HkdfSha256, Kem>(
            &OpModeR::Base,
            &sk,
            &encapped,
            &info(key_pair.key_id()),
            sealed_content_key,
            envelope_id.as_bytes(),
        )
        .map_err(|_| EnvelopeError::ContentKeyUnopenable)?,
    );
    let key: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| EnvelopeError::ContentKeyUnopenable)?;
    Ok(Zeroizing::new(key))
}

#[cfg(test)]
mod rfc9180_vectors {
    //! RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, Base mode.
    //! Same KEM and KDF as ours; only the AEAD differs (the RFC prints no X25519 + AES-256-GCM
    //! suite), so this checks the key derivation, the encapsulation driven through our RNG
    //! adapter, and the key schedule through the AEAD outputs.
    use super::*;
    use hpke::Kem as _;
    use hpke::aead::AesGcm128;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// The RFC prints X25519 secret keys as derived; the crate keeps them clamped (RFC 7748
    /// §5), which is the same scalar for the curve. Clamp the vector before comparing.
    fn clamped(s: &str) -> Vec<u8> {
        let mut k = h(s);
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        k
    }

    const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
    const IKM_E: &str = "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234";
    const PK_EM: &str = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
    const SK_EM: &str = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
    const IKM_R: &str = "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037";
    const SK_RM: &str = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
    const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
    const AAD_0: &str = "436f756e742d30";
    const CT_0: &str = "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a";

    #[test]
    fn derive_keypair_matches_rfc9180_a1() {
        let (sk_e, pk_e) = Kem::derive_keypair(&h(IKM_E));
        assert_eq!(sk_e.to_bytes().to_vec(), clamped(SK_EM));
        assert_eq!(pk_e.to_bytes().to_vec(), h(PK_EM));
        let (sk_r, _) = Kem::derive_keypair(&h(IKM_R));
        assert_eq!(sk_r.to_bytes().to_vec(), clamped(SK_RM));
    }

    #[test]
    fn encapsulation_and_first_ciphertext_match_rfc9180_a1() {
        let (_, pk_r) = Kem::derive_keypair(&h(IKM_R));
        let mut ikm_e = Zeroizing::new([0u8; 32]);
        ikm_e.copy_from_slice(&h(IKM_E));
        let (enc, ct) =
            seal_with_ikm::<AesGcm128>(&pk_r.to_bytes(), &h(INFO), &h(AAD_0), &h(PT), ikm_e)
                .unwrap();
        // In DHKEM the encapsulated key is the ephemeral public key.
        assert_eq!(enc, h(PK_EM));
        assert_eq!(ct, h(CT_0));
    }

    #[test]
    fn receiver_opens_rfc9180_a1_ciphertext() {
        let (sk_r, _) = Kem::derive_keypair(&h(IKM_R));
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&h(PK_EM)).unwrap();
        let pt = hpke::single_shot_open::<AesGcm128, HkdfSha256, Kem>(
            &OpModeR::Base,
            &sk_r,
            &enc,
            &h(INFO),
            &h(CT_0),
            &h(AAD_0),
        )
        .unwrap();
        assert_eq!(pt, h(PT));
    }
}
