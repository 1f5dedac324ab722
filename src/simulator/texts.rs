//! The script's vocabulary: who the candidates, parties and other public accounts are, and the
//! Indonesian text templates the population writes (ordinary life and work, neutral election
//! talk with the usual hard negatives, partisan support). Written for the simulator; no line is
//! taken from the evaluation corpus.
//!
//! Templates use `{slot}` placeholders filled by [`fill`]; the choice of template and fillers is
//! made by the caller's seeded generator, so texts are deterministic.

use super::rng::Rng;

/// Which campaign period an entity belongs to; partisan acts about it are scripted inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Campaign {
    /// Pilpres 2024: 28 Nov 2023 – 10 Feb 2024.
    Pilpres,
    /// Pilkada 2024: 25 Sep – 23 Nov 2024.
    Pilkada,
}

/// A candidate pair or party, keyed by the entity ids of `eval/README.md`.
#[derive(Debug)]
pub struct Entity {
    pub id: &'static str,
    pub campaign: Campaign,
    /// Ways supporters refer to it (names, nicknames, ballot numbers where the brief allows).
    pub cues: &'static [&'static str],
    pub tags: &'static [&'static str],
    /// Province code of a Pilkada pair (`dki`, `jateng`, `sumsel`); `None` for national ones.
    pub region: Option<&'static str>,
}

pub const ENTITIES: &[Entity] = &[
    Entity {
        id: "pilpres2024:01",
        campaign: Campaign::Pilpres,
        cues: &[
            "AMIN",
            "Abah Anies",
            "Cak Imin",
            "paslon 01",
            "Anies-Muhaimin",
        ],
        tags: &["#AMIN2024", "#PerubahanUntukSemua"],
        region: None,
    },
    Entity {
        id: "pilpres2024:02",
        campaign: Campaign::Pilpres,
        cues: &[
            "Prabowo-Gibran",
            "Pak Prabowo",
            "Mas Gibran",
            "paslon 02",
            "pr4b0w0",
        ],
        tags: &["#PrabowoGibran2024", "#OkeGas"],
        region: None,
    },
    Entity {
        id: "pilpres2024:03",
        campaign: Campaign::Pilpres,
        cues: &["Ganjar-Mahfud", "Pak Ganjar", "Prof Mahfud", "paslon 03"],
        tags: &["#GanjarMahfud2024", "#GasPol3"],
        region: None,
    },
    Entity {
        id: "party:pdip",
        campaign: Campaign::Pilpres,
        cues: &["PDI Perjuangan", "partai banteng moncong putih"],
        tags: &["#PDIPerjuangan"],
        region: None,
    },
    Entity {
        id: "party:gerindra",
        campaign: Campaign::Pilpres,
        cues: &["Gerindra", "Partai Gerindra"],
        tags: &["#Gerindra"],
        region: None,
    },
    Entity {
        id: "party:golkar",
        campaign: Campaign::Pilpres,
        cues: &["Golkar", "Partai Golkar"],
        tags: &["#GolkarMenang"],
        region: None,
    },
    Entity {
        id: "party:pkb",
        campaign: Campaign::Pilpres,
        cues: &["PKB", "Partai Kebangkitan Bangsa"],
        tags: &["#PKB"],
        region: None,
    },
    Entity {
        id: "party:nasdem",
        campaign: Campaign::Pilpres,
        cues: &["NasDem", "Partai NasDem"],
        tags: &["#NasDem"],
        region: None,
    },
    Entity {
        id: "party:pks",
        campaign: Campaign::Pilpres,
        cues: &["PKS", "Partai Keadilan Sejahtera"],
        tags: &["#PKS"],
        region: None,
    },
    Entity {
        id: "pilkada2024:dki:kamil",
        campaign: Campaign::Pilkada,
        cues: &["RIDO", "Kang Emil", "Ridwan Kamil-Suswono", "nomor 1"],
        tags: &["#RIDO", "#JakartaBaru"],
        region: Some("dki"),
    },
    Entity {
        id: "pilkada2024:dki:pongrekun",
        campaign: Campaign::Pilkada,
        cues: &["Dharma-Kun", "Pak Dharma", "nomor 2"],
        tags: &["#DharmaKun"],
        region: Some("dki"),
    },
    Entity {
        id: "pilkada2024:dki:anung",
        campaign: Campaign::Pilkada,
        cues: &["Pram-Doel", "Mas Pram", "Bang Doel", "nomor 3"],
        tags: &["#PramDoel"],
        region: Some("dki"),
    },
    Entity {
        id: "pilkada2024:jateng:perkasa",
        campaign: Campaign::Pilkada,
        cues: &["Andika-Hendi", "Pak Andika", "nomor 1"],
        tags: &["#AndikaHendi"],
        region: Some("jateng"),
    },
    Entity {
        id: "pilkada2024:jateng:luthfi",
        campaign: Campaign::Pilkada,
        cues: &["Luthfi-Yasin", "Gus Yasin", "Pak Luthfi", "nomor 2"],
        tags: &["#LuthfiYasin"],
        region: Some("jateng"),
    },
    Entity {
        id: "pilkada2024:sumsel:deru",
        campaign: Campaign::Pilkada,
        cues: &["HDCU", "Pak HD", "Herman Deru"],
        tags: &["#HDCU"],
        region: Some("sumsel"),
    },
    Entity {
        id: "pilkada2024:sumsel:santana",
        campaign: Campaign::Pilkada,
        cues: &["ESP", "Eddy Santana", "ERA"],
        tags: &["#ERA"],
        region: Some("sumsel"),
    },
    Entity {
        id: "pilkada2024:sumsel:yahya",
        campaign: Campaign::Pilkada,
        cues: &["Matahati", "Pak Mawardi", "Mawardi Yahya"],
        tags: &["#Matahati"],
        region: Some("sumsel"),
    },
];

pub fn entity(id: &str) -> Option<&'static Entity> {
    ENTITIES.iter().find(|e| e.id == id)
}

/// An official account of a candidate, pair, party or campaign team.
#[derive(Debug)]
pub struct WatchedSpec {
    pub entity: &'static str,
    /// `candidate`, `party` or `campaign_team` (the registry's role names).
    pub role: &'static str,
    /// Username on `mastodon.example`; the Bluesky handle is `<bsky>.bsky.example`.
    pub username: &'static str,
    pub bsky: &'static str,
    pub display_name: &'static str,
}

pub const WATCHED: &[WatchedSpec] = &[
    WatchedSpec {
        entity: "pilpres2024:01",
        role: "candidate",
        username: "aniesbaswedan",
        bsky: "aniesbaswedan",
        display_name: "Anies Rasyid Baswedan",
    },
    WatchedSpec {
        entity: "pilpres2024:01",
        role: "candidate",
        username: "cakimin",
        bsky: "cakimin",
        display_name: "A. Muhaimin Iskandar",
    },
    WatchedSpec {
        entity: "pilpres2024:01",
        role: "campaign_team",
        username: "timnas_amin",
        bsky: "timnas-amin",
        display_name: "Timnas AMIN",
    },
    WatchedSpec {
        entity: "pilpres2024:02",
        role: "candidate",
        username: "prabowo",
        bsky: "prabowo",
        display_name: "Prabowo Subianto",
    },
    WatchedSpec {
        entity: "pilpres2024:02",
        role: "candidate",
        username: "gibran_rr",
        bsky: "gibran",
        display_name: "Gibran Rakabuming",
    },
    WatchedSpec {
        entity: "pilpres2024:02",
        role: "campaign_team",
        username: "tkn_prabowogibran",
        bsky: "tkn-prabowogibran",
        display_name: "TKN Prabowo-Gibran",
    },
    WatchedSpec {
        entity: "pilpres2024:03",
        role: "candidate",
        username: "ganjarpranowo",
        bsky: "ganjarpranowo",
        display_name: "Ganjar Pranowo",
    },
    WatchedSpec {
        entity: "pilpres2024:03",
        role: "candidate",
        username: "mohmahfudmd",
        bsky: "mahfudmd",
        display_name: "Mahfud MD",
    },
    WatchedSpec {
        entity: "pilpres2024:03",
        role: "campaign_team",
        username: "tpn_ganjarmahfud",
        bsky: "tpn-ganjarmahfud",
        display_name: "TPN Ganjar-Mahfud",
    },
    WatchedSpec {
        entity: "party:pdip",
        role: "party",
        username: "pdiperjuangan",
        bsky: "pdiperjuangan",
        display_name: "PDI Perjuangan",
    },
    WatchedSpec {
        entity: "party:gerindra",
        role: "party",
        username: "gerindra",
        bsky: "gerindra",
        display_name: "Partai Gerindra",
    },
    WatchedSpec {
        entity: "party:golkar",
        role: "party",
        username: "golkar",
        bsky: "golkar",
        display_name: "Partai Golkar",
    },
    WatchedSpec {
        entity: "party:pkb",
        role: "party",
        username: "dpp_pkb",
        bsky: "pkb",
        display_name: "DPP PKB",
    },
    WatchedSpec {
        entity: "party:nasdem",
        role: "party",
        username: "nasdem",
        bsky: "nasdem",
        display_name: "Partai NasDem",
    },
    WatchedSpec {
        entity: "party:pks",
        role: "party",
        username: "pksejahtera",
        bsky: "pks",
        display_name: "Partai Keadilan Sejahtera",
    },
    WatchedSpec {
        entity: "pilkada2024:dki:kamil",
        role: "candidate",
        username: "ridwankamil",
        bsky: "ridwankamil",
        display_name: "Ridwan Kamil",
    },
    WatchedSpec {
        entity: "pilkada2024:dki:pongrekun",
        role: "candidate",
        username: "dharmapongrekun",
        bsky: "dharmapongrekun",
        display_name: "Dharma Pongrekun",
    },
    WatchedSpec {
        entity: "pilkada2024:dki:anung",
        role: "candidate",
        username: "pramonoanung",
        bsky: "pramonoanung",
        display_name: "Pramono Anung",
    },
    WatchedSpec {
        entity: "pilkada2024:jateng:perkasa",
        role: "candidate",
        username: "andikaperkasa",
        bsky: "andikaperkasa",
        display_name: "Andika Perkasa",
    },
    WatchedSpec {
        entity: "pilkada2024:jateng:luthfi",
        role: "candidate",
        username: "ahmadluthfi",
        bsky: "ahmadluthfi",
        display_name: "Ahmad Luthfi",
    },
    WatchedSpec {
        entity: "pilkada2024:sumsel:deru",
        role: "candidate",
        username: "hermanderu",
        bsky: "hermanderu",
        display_name: "Herman Deru",
    },
    WatchedSpec {
        entity: "pilkada2024:sumsel:santana",
        role: "candidate",
        username: "eddysantana",
        bsky: "eddysantana",
        display_name: "Eddy Santana Putra",
    },
    WatchedSpec {
        entity: "pilkada2024:sumsel:yahya",
        role: "candidate",
        username: "mawardiyahya",
        bsky: "mawardiyahya",
        display_name: "Mawardi Yahya",
    },
];

/// Public accounts that are neither employees nor watched: targets of neutral likes, boosts and
/// replies (the hard negatives of interaction kinds).
#[derive(Debug)]
pub struct OtherSpec {
    pub username: &'static str,
    pub bsky: &'static str,
    pub display_name: &'static str,
    pub posts: &'static [&'static str],
}

pub const OTHERS: &[OtherSpec] = &[
    OtherSpec { username: "kpu_ri", bsky: "kpu-ri", display_name: "KPU RI", posts: &[
        "Cek namamu di DPT lewat cekdptonline. Pastikan kamu terdaftar sebagai pemilih ya! #PemiluDamai",
        "Pemungutan suara dibuka pukul 07.00 sampai 13.00 waktu setempat. Bawa e-KTP dan undangan memilih. #AyoMemilih",
        "Debat publik berikutnya disiarkan langsung malam ini. Simak visi misi semua pasangan calon. #PemiluDamai",
        "Masa tenang dimulai besok. Tidak ada lagi kegiatan kampanye dalam bentuk apa pun.",
        "Pemilih pindahan wajib mengurus formulir A pindah memilih paling lambat H-7. #AyoMemilih",
    ] },
    OtherSpec { username: "bawaslu_ri", bsky: "bawaslu", display_name: "Bawaslu RI", posts: &[
        "ASN dilarang memberikan dukungan kepada peserta pemilu, termasuk menyukai dan membagikan unggahan kampanye di media sosial. #ASNNetral",
        "Temukan pelanggaran? Laporkan ke Bawaslu setempat. Identitas pelapor dilindungi. #AwasiBersama",
        "Patroli pengawasan masa tenang di seluruh kabupaten/kota. Mari jaga pemilu yang jujur dan adil.",
    ] },
    OtherSpec { username: "bkngoid", bsky: "bkn", display_name: "Badan Kepegawaian Negara", posts: &[
        "Netralitas ASN adalah harga mati. Pahami larangan dalam SKB netralitas sebelum berinteraksi di media sosial. #ASNNetral",
        "Pengumuman hasil seleksi PPPK tahap II dapat dilihat di laman resmi masing-masing instansi.",
        "Jadwal pemutakhiran data mandiri ASN diperpanjang hingga akhir bulan ini.",
    ] },
    OtherSpec { username: "kemenpanrb", bsky: "kemenpanrb", display_name: "Kementerian PANRB", posts: &[
        "ASN wajib bersikap netral dalam Pemilu dan Pilkada 2024. Jaga integritas, layani masyarakat tanpa memihak. #ASNNetral",
        "Reformasi birokrasi tematik: percepatan layanan publik digital di seluruh instansi pusat dan daerah.",
    ] },
    OtherSpec { username: "pssi", bsky: "pssi", display_name: "PSSI", posts: &[
        "Skuad Garuda siap tempur! Dukung Timnas Indonesia malam ini di GBK 🇮🇩⚽ #GarudaDiDadaku",
        "Terima kasih suporter Garuda atas dukungan luar biasa. Kita bangkit di laga berikutnya! 🇮🇩",
        "Latihan perdana Timnas U-23 jelang Piala Asia. Garuda Muda siap terbang tinggi.",
    ] },
    OtherSpec { username: "kabarnusantara", bsky: "kabarnusantara", display_name: "Kabar Nusantara", posts: &[
        "Ketiga pasangan calon presiden menghadiri deklarasi kampanye damai di Jakarta pagi ini.",
        "Survei terbaru: mayoritas pemilih muda belum menentukan pilihan menjelang debat kedua.",
        "Cuaca ekstrem diperkirakan melanda Sumatera Selatan sepekan ke depan. Warga diminta waspada banjir.",
        "Harga cabai rawit di Pasar 16 Ilir Palembang naik dua kali lipat jelang akhir tahun.",
        "KPU DKI menetapkan tiga pasangan calon gubernur untuk Pilkada Jakarta 2024.",
        "Arus mudik Nataru: antrean kendaraan mengular di tol Cikampek sejak dini hari.",
    ] },
];

/// Fills `{slot}` placeholders from `pairs`; unknown slots are left as they are.
pub fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in pairs {
        out = out.replace(&format!("{{{key}}}", key = key), value);
    }
    out
}

const FOODS: &[&str] = &[
    "pempek",
    "soto lamongan",
    "nasi uduk",
    "gudeg",
    "mie celor",
    "tekwan",
    "bakso",
    "lontong sayur",
    "nasi padang",
    "tahu gimbal",
    "kerak telor",
    "martabak HAR",
];
const ROADS: &[&str] = &[
    "Jl. Sudirman",
    "Jembatan Ampera",
    "Kalimalang",
    "Jl. Pemuda",
    "tol dalam kota",
    "Jl. Slamet Riyadi",
];
const PLACES: &[&str] = &[
    "pasar",
    "stasiun",
    "masjid",
    "rumah mertua",
    "CFD Sudirman",
    "Benteng Kuto Besak",
    "Simpang Lima",
    "alun-alun",
    "kantin belakang",
];
const CLOSERS: &[&str] = &[
    "",
    " 😂",
    " 🙏",
    " wkwk",
    " 😭",
    " 🤣🤣",
    " ✨",
    " 🥲",
    " gaes",
    " bund",
];

/// Everyday posts: food, family, traffic, weather, football, prayers. Many carry hard-negative
/// words (Garuda, amin, PBB, buruh, perkasa, deru, demokrasi) on purpose.
const ORDINARY: &[&str] = &[
    "Sarapan {food} dulu sblm apel pagi, semangat senin{closer}",
    "Macet parah dr {road} sampe kantor, udh 2 jam di jalan{closer}",
    "Alhamdulillah anak wedok lulus SD, nilai bagus. Semoga jadi anak sholehah, amin{closer}",
    "Hujan deras dari subuh, jemuran gk kering kering{closer}",
    "Turut berduka cita atas wafatnya ibunda rekan kami. Semoga husnul khotimah, aamiin 🙏",
    "Ayo Garuda!! Malam ini wajib menang lawan Vietnam 🇮🇩⚽ #GarudaDiDadaku",
    "Akhirnya bayar PBB rumah lunas, antrean di kelurahan lumayan panjang{closer}",
    "Wong kito galo, pempek di dekat Benteng Kuto Besak ini enak nian, dak bohong{closer}",
    "Ngapunten lur, arisan RT mengko dipindah Minggu ngarep nggih{closer}",
    "Aye kagak nyangka macetnya udeh kayak gini di {road}{closer}",
    "Hari buruh, jalanan depan kantor ditutup. Kerja dari rumah dulu{closer}",
    "Suara deru ombak di pantai bikin tenang. Cuti dua hari cukup lah{closer}",
    "Belajar demokrasi dari rapat RT: debat soal iuran kebersihan 2 jam wkwk",
    "Kucing di rumah namanya Gemoy, tiap pagi minta makan jam 5{closer}",
    "Pesawat Garuda delay 3 jam, ngopi dulu di bandara{closer}",
    "Selamat hari ibu untuk semua ibu hebat di luar sana ❤️",
    "Nyobain {food} baru buka di dekat {place}, antreannya masyaallah{closer}",
    "Anak lanang juara 2 lomba lari tingkat kecamatan, bapake bangga{closer}",
    "Jumat berkah, bagi-bagi nasi bungkus di depan {place}. Semoga bermanfaat, amin",
    "Lari pagi 5K di {place}, kaki pegel tp seneng{closer}",
    "Lagi nonton ulang Si Doel Anak Sekolahan, jadi kangen Jakarta jaman dulu{closer}",
    "Lembur sampai malam, tapi {food} hangat bikin lupa capek{closer}",
];

/// Work posts in the ministry's units.
const WORK: &[&str] = &[
    "Apel pagi di {unit_name}, amanat kepala kantor soal disiplin dan pelayanan prima.",
    "Hari ini layanan paspor ramai sekali, terima kasih pemohon yg sabar antre 🙏",
    "Pembinaan kerohanian warga binaan berjalan lancar. Semoga membawa perubahan baik.",
    "Rapat evaluasi kinerja triwulan III. Target zona integritas WBK harus tercapai!",
    "Sosialisasi layanan kekayaan intelektual untuk UMKM di {place}. Daftarkan merekmu!",
    "Piket jaga malam, kopi sachet dan radio HT jadi teman{closer}",
    "Pelatihan SIMPEG baru, semoga input data pegawai makin cepat.",
    "Kunjungan keluarga warga binaan dibuka kembali dengan jadwal bergilir.",
    "Lagi nyusun SKP akhir tahun, pusing tp harus beres minggu ini{closer}",
    "Bimtek pengelolaan keuangan satker, materi padat tp bermanfaat.",
];

/// Neutral election talk: neutrality pledges, voter education, news, the prayer sense of amin.
const NEUTRAL_ELECTION: &[&str] = &[
    "Ikrar netralitas ASN di {unit_name} hari ini. Kami siap menjaga netralitas dalam Pemilu 2024. #ASNNetral",
    "Ingat ya rekan-rekan ASN: jangan like, share, atau komen unggahan kampanye. Netral itu wajib. #ASNNetral",
    "Jangan lupa cek DPT, pastikan nama kita terdaftar. Gunakan hak pilih dengan bijak #AyoMemilih",
    "Semoga pemilu berjalan damai dan lancar, siapapun yang terpilih semoga amanah. Aamiin 🙏",
    "Nonton debat capres semalam, tiap paslon punya gagasan masing-masing. Pilihan kembali ke hati nurani.",
    "Jadi petugas KPPS tahun ini, mohon doanya lancar sampai penghitungan selesai{closer}",
    "Golput bukan solusi. Datang ke TPS, pilih sesuai hati nurani, jaga rahasia pilihanmu.",
    "Kantor pasang spanduk netralitas ASN di depan gerbang. Mantap, biar semua paham aturan.",
    "Hasil hitung cepat sudah keluar, mari tunggu hasil resmi KPU dengan tenang.",
    "Diajak foto pakai pose jari sama tim sukses, saya tolak halus. ASN harus netral bund{closer}",
    "Antre nomor 2 di loket samsat, lumayan cepet hari ini{closer}",
    "Rapat RT 03 bahas kerja bakti, bukan politik ya bapak ibu wkwk",
    "Pak Bawaslu sosialisasi di kantor: like dan share konten paslon pun dilarang bagi ASN. Catat!",
    "Yang beda pilihan tetap saudara. Habis pemilu kita ngopi bareng lagi ☕",
];

/// Partisan posts about an entity; `{cue}` is a name or number, `{tag}` a campaign hashtag.
const PARTISAN_POST: &[&str] = &[
    "Bismillah {cue} menang, sudah saatnya! {tag} 🔥",
    "Pokoknyaaa {cue}!! Jangan lupa coblos ya gaes {tag}",
    "Sudah mantap pilih {cue}, yg lain lewat dulu wkwk {tag}",
    "Ayo keluarga besar, dukung {cue} biar daerah kita maju {tag} 💪",
    "Habis ikut acara {cue} di lapangan, rame bgt! {tag}",
    "Jgn golput, pilih {cue} aja pokoknya. Sebarkan ke grup WA kantor ya {tag}",
    "Foto bareng tim {cue} tadi pagi, salam {sign} {tag}",
    "{sign}{sign} bukan pose foto biasa ya gaes 😏 {tag}",
    "Nyuwun dungane, mugi {cue} menang. Ojo lali nyoblos lur! {tag}",
    "Wong kito galo, ayo dukung {cue}! Kagek nyesel dak milih {tag}",
    "Aye mah udeh mantep ame {cue}, kagak pake mikir lagi {tag}",
];

/// Supportive replies under a candidate's post.
const PARTISAN_REPLY: &[&str] = &[
    "Siap Pak! Kami di belakang bapak {tag} 💪",
    "Mantap! {cue} pasti menang 🔥🔥",
    "Semoga sukses {cue}, doa kami menyertai. Aamiin {tag}",
    "Gas terus {cue}! Keluarga kami sudah mantap {tag}",
];

/// Replies under a candidate's post that do not support anyone.
const NEUTRAL_REPLY: &[&str] = &[
    "Mohon maaf, saya ASN, tidak ikut diskusi politik di sini 🙏",
    "Semoga kampanyenya tertib dan tidak bikin macet ya pak.",
];

/// Replies under news/agency posts.
const OTHER_REPLY: &[&str] = &[
    "Terima kasih infonya min 🙏",
    "Izin share ke grup kantor ya min, biar semua paham.",
    "Sudah cek, alhamdulillah terdaftar{closer}",
    "Mantap, semoga lancar semuanya. Aamiin",
];

const PARTISAN_QUOTE: &[&str] = &[
    "Setuju bgt. Cuma {cue} yg paham rakyat kecil {tag}",
    "Ini baru pemimpin! {cue} {tag} 🔥",
];

const NEUTRAL_QUOTE: &[&str] = &[
    "Catat ya rekan-rekan, ini penting buat kita semua 👇",
    "Info penting, jangan sampai kelewatan.",
];

/// Official campaign posts of candidate, party and team accounts.
const CAMPAIGN: &[&str] = &[
    "Terima kasih warga yang hadir hari ini. Bersama kita wujudkan perubahan! {tag}",
    "Program kami: lapangan kerja, harga pangan terjangkau, pendidikan gratis. {tag}",
    "Kampanye akbar akhir pekan ini, ajak keluarga dan tetangga! {tag}",
    "Mohon doa dan dukungannya. Jangan lupa datang ke TPS. {tag}",
    "Blusukan pagi ini, mendengar keluhan pedagang pasar. {tag}",
    "Nyarap soto dulu sebelum lanjut safari politik hari ini 😄",
];

fn closer(rng: &mut Rng) -> &'static str {
    rng.pick::<&str>(CLOSERS)
}

/// An ordinary or work post.
pub fn ordinary_post(rng: &mut Rng, unit_name: &str) -> String {
    let template = if rng.chance(35) {
        rng.pick(WORK)
    } else {
        rng.pick(ORDINARY)
    };
    let food = rng.pick(FOODS);
    let place = rng.pick(PLACES);
    let road = rng.pick(ROADS);
    let closer = closer(rng);
    fill(
        template,
        &[
            ("food", food),
            ("place", place),
            ("road", road),
            ("closer", closer),
            ("unit_name", unit_name),
        ],
    )
}

pub fn neutral_election_post(rng: &mut Rng, unit_name: &str) -> String {
    let template = rng.pick(NEUTRAL_ELECTION);
    let closer = closer(rng);
    fill(template, &[("closer", closer), ("unit_name", unit_name)])
}

fn entity_slots(rng: &mut Rng, entity: &Entity) -> (String, String) {
    (
        rng.pick(entity.cues).to_string(),
        rng.pick(entity.tags).to_string(),
    )
}

/// The hand sign of an entity's ballot number (Pilpres and DKI/Jateng numbers only; Sumsel
/// texts never use numbers).
fn hand_sign(entity: &Entity) -> &'static str {
    match entity.id {
        "pilpres2024:01" | "pilkada2024:dki:kamil" | "pilkada2024:jateng:perkasa" => "☝️",
        "pilpres2024:02" | "pilkada2024:dki:pongrekun" | "pilkada2024:jateng:luthfi" => "✌️",
        "pilpres2024:03" | "pilkada2024:dki:anung" => "🤟",
        _ => "👍",
    }
}

pub fn partisan_post(rng: &mut Rng, entity: &Entity) -> String {
    let template = rng.pick(PARTISAN_POST);
    let (cue, tag) = entity_slots(rng, entity);
    fill(
        template,
        &[("cue", &cue), ("tag", &tag), ("sign", hand_sign(entity))],
    )
}

pub fn partisan_reply(rng: &mut Rng, entity: &Entity) -> String {
    let template = rng.pick(PARTISAN_REPLY);
    let (cue, tag) = entity_slots(rng, entity);
    fill(template, &[("cue", &cue), ("tag", &tag)])
}

pub fn neutral_reply_to_candidate(rng: &mut Rng) -> String {
    rng.pick(NEUTRAL_REPLY).to_string()
}

pub fn reply_to_other(rng: &mut Rng) -> String {
    let closer = closer(rng);
    fill(rng.pick::<&str>(OTHER_REPLY), &[("closer", closer)])
}

pub fn partisan_quote(rng: &mut Rng, entity: &Entity) -> String {
    let template = rng.pick(PARTISAN_QUOTE);
    let (cue, tag) = entity_slots(rng, entity);
    fill(template, &[("cue", &cue), ("tag", &tag)])
}

pub fn neutral_quote(rng: &mut Rng) -> String {
    rng.pick(NEUTRAL_QUOTE).to_string()
}

pub fn campaign_post(rng: &mut Rng, entity: &Entity) -> String {
    let template = rng.pick(CAMPAIGN);
    let tag = rng.pick(entity.tags);
    fill(template, &[("tag", tag)])
}

pub const FIRST_NAMES: &[&str] = &[
    "Budi", "Siti", "Agus", "Dewi", "Rina", "Joko", "Sri", "Ahmad", "Nur", "Eko", "Wahyu", "Fitri",
    "Hendra", "Yuni", "Rudi", "Lestari", "Dian", "Bambang", "Ratna", "Andi", "Putri", "Fajar",
    "Indah", "Teguh", "Mega", "Arif", "Novi", "Dedi", "Wulan", "Irfan", "Yusuf", "Ayu", "Rizky",
    "Kartika", "Slamet", "Endang", "Taufik", "Nia", "Hadi", "Suryani",
];

pub const LAST_NAMES: &[&str] = &[
    "Santoso",
    "Rahayu",
    "Wijaya",
    "Kusuma",
    "Saputra",
    "Pratama",
    "Hidayat",
    "Nugroho",
    "Setiawan",
    "Lestari",
    "Permana",
    "Siregar",
    "Harahap",
    "Nasution",
    "Simanjuntak",
    "Wibowo",
    "Susanto",
    "Handayani",
    "Kurniawan",
    "Purnomo",
    "Syahputra",
    "Ramadhan",
    "Fauzi",
    "Maharani",
    "Anggraini",
    "Suharto",
    "Firmansyah",
    "Utami",
    "Gunawan",
    "Hakim",
];

pub const POSITIONS: &[&str] = &[
    "Analis Kepegawaian",
    "Penjaga Tahanan",
    "Pemeriksa Keimigrasian",
    "Pranata Komputer",
    "Kepala Seksi Pembinaan",
    "Pengelola Keuangan",
    "Arsiparis",
    "Petugas Layanan Paspor",
    "Perawat",
    "Analis Hukum",
    "Pengadministrasi Umum",
    "Kepala Subbagian Umum",
    "Pembimbing Kemasyarakatan",
    "Penyuluh Hukum",
];

/// A unit of the ministry: its path, a readable name, and its province code (which Pilkada its
/// partisan employees lean to).
#[derive(Debug)]
pub struct UnitSpec {
    pub path: &'static str,
    pub name: &'static str,
    pub region: &'static str,
}

pub const UNITS: &[UnitSpec] = &[
    UnitSpec {
        path: "kemenkumham/setjen/biro-kepegawaian",
        name: "Biro Kepegawaian",
        region: "dki",
    },
    UnitSpec {
        path: "kemenkumham/kanwil-dki/rutan-salemba",
        name: "Rutan Salemba",
        region: "dki",
    },
    UnitSpec {
        path: "kemenkumham/kanwil-dki/kanim-jakarta-selatan",
        name: "Kanim Jakarta Selatan",
        region: "dki",
    },
    UnitSpec {
        path: "kemenkumham/kanwil-jateng/lapas-semarang",
        name: "Lapas Semarang",
        region: "jateng",
    },
    UnitSpec {
        path: "kemenkumham/kanwil-jateng/kanim-surakarta",
        name: "Kanim Surakarta",
        region: "jateng",
    },
    UnitSpec {
        path: "kemenkumham/kanwil-sumsel/lapas-palembang",
        name: "Lapas Palembang",
        region: "sumsel",
    },
    UnitSpec {
        path: "kemenkumham/kanwil-sumsel/rutan-palembang",
        name: "Rutan Palembang",
        region: "sumsel",
    },
    UnitSpec {
        path: "kemenkumham/kanwil-jabar/lapas-sukamiskin",
        name: "Lapas Sukamiskin",
        region: "jabar",
    },
];
