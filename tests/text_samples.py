"""Contact lists in the languages and encodings real exports come in, for the encoding tests.

Every file is a Python string (real names and places of the language) encoded by the test with
the sample's codec: the expected headers, cells and lead fields are the strings themselves.
"""

# Real Cyrillic, Turkish and typographic text on purpose: its letters look like Latin ones.
# ruff: noqa: RUF001

from __future__ import annotations

import csv
import io
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    id: str
    codec: str  # what the test encodes the text with
    label: str  # the encoding name the preview must answer
    headers: tuple[str, ...]  # the first is the e-mail column
    fields: tuple[str, ...]  # the profile field of each header after the first
    rows: tuple[tuple[str, ...], ...]
    delimiter: str = ","

    def text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self.delimiter, lineterminator="\r\n")
        writer.writerow(self.headers)
        writer.writerows(self.rows)
        return out.getvalue()

    def data(self) -> bytes:
        return self.text().encode(self.codec)

    def field_mappings(self) -> dict[str, str]:
        return dict(zip(self.headers[1:], self.fields, strict=True))

    def lead_fields(self, row: tuple[str, ...]) -> dict[str, str]:
        return {f: v for f, v in zip(self.fields, row[1:], strict=True) if v}


NAMES = ("last_name", "first_name", "city", "company")

CYRILLIC_1251 = Sample(
    "windows-1251",
    "cp1251",
    "windows-1251",
    ("Email", "Фамилия", "Имя", "Город", "Компания"),
    NAMES,
    (
        ("ivanov@example.ru", "Иванов", "Иван", "Москва", "ООО «Ромашка»"),
        ("petrova@example.ru", "Петрова", "Мария", "Санкт-Петербург", "Северсталь"),
        ("sidorov@example.ru", "Сидоров", "Алексей", "Новосибирск", "Сибирские сети"),
        ("kuznetsova@example.ru", "Кузнецова", "Екатерина", "Екатеринбург", "Уральский завод"),
        ("smirnov@example.ru", "Смирнов", "Дмитрий", "Казань", "Татнефть"),
    ),
    delimiter=";",
)
CZECH_1250 = Sample(
    "windows-1250",
    "cp1250",
    "windows-1250",
    ("Email", "Příjmení", "Jméno", "Město", "Firma"),
    NAMES,
    (
        ("novak@example.cz", "Novák", "Jiří", "Praha", "Škoda Auto"),
        ("svobodova@example.cz", "Svobodová", "Žaneta", "Brno", "Česká spořitelna"),
        ("dvorak@example.cz", "Dvořák", "Tomáš", "Ostrava", "Vítkovice"),
        ("cerny@example.cz", "Černý", "Lukáš", "Plzeň", "Plzeňský Prazdroj"),
        ("prochazkova@example.cz", "Procházková", "Markéta", "Olomouc", "Hanácká kyselka"),
    ),
    delimiter=";",
)
POLISH_8859_2 = Sample(
    "iso-8859-2",
    "iso8859_2",
    "iso-8859-2",
    ("Email", "Nazwisko", "Imię", "Miasto", "Firma"),
    NAMES,
    (
        ("kowalski@example.pl", "Kowalski", "Łukasz", "Łódź", "Świątek i Syn"),
        ("wisniewska@example.pl", "Wiśniewska", "Zofia", "Kraków", "Żabka"),
        ("zielinski@example.pl", "Zieliński", "Grzegorz", "Gdańsk", "Stocznia Północna"),
        ("wojcik@example.pl", "Wójcik", "Małgorzata", "Wrocław", "Śląskie Przędzalnie"),
        ("kaminska@example.pl", "Kamińska", "Agnieszka", "Poznań", "Źródło Zdrowia"),
    ),
    delimiter=";",
)
JAPANESE_SJIS = Sample(
    "shift_jis",
    "shift_jis",
    "shift_jis",
    ("Email", "姓", "名", "都市", "会社"),
    NAMES,
    (
        ("yamada@example.jp", "山田", "太郎", "東京", "株式会社サンプル"),
        ("suzuki@example.jp", "鈴木", "花子", "横浜", "東京商事"),
        ("tanaka@example.jp", "田中", "一郎", "大阪", "大阪物産"),
        ("watanabe@example.jp", "渡辺", "美咲", "名古屋", "名古屋精機"),
        ("ito@example.jp", "伊藤", "健太", "札幌", "札幌ソフトウェア"),
    ),
)
CHINESE_GB18030 = Sample(
    "gb18030",
    "gb18030",
    "gb18030",
    ("Email", "姓", "名", "城市", "公司"),
    NAMES,
    (
        ("wang@example.cn", "王", "伟", "北京", "北京科技有限公司"),
        ("li@example.cn", "李", "娜", "上海", "上海贸易公司"),
        ("zhang@example.cn", "张", "敏", "广州", "广州电子厂"),
        ("liu@example.cn", "刘", "洋", "深圳", "深圳网络科技"),
        ("chen@example.cn", "陈", "静", "杭州", "杭州丝绸集团"),
    ),
)
KOREAN_EUC_KR = Sample(
    "euc-kr",
    "euc_kr",
    "euc-kr",
    ("Email", "성", "이름", "도시", "회사"),
    NAMES,
    (
        ("kim@example.kr", "김", "민준", "서울", "삼성전자"),
        ("lee@example.kr", "이", "서연", "부산", "현대자동차"),
        ("park@example.kr", "박", "지훈", "대구", "엘지화학"),
        ("choi@example.kr", "최", "수아", "인천", "에스케이텔레콤"),
        ("jung@example.kr", "정", "우진", "포항", "포스코"),
    ),
)
MIXED_ROWS = (
    ("ivanov@example.ru", "Иванов", "Иван", "Москва", "Газпром"),
    ("yamada@example.jp", "山田", "太郎", "東京", "株式会社サンプル"),
    ("mueller@example.de", "Müller", "Jürgen", "Köln", "Bäckerei Öztürk"),
    ("kim@example.kr", "김", "민준", "서울", "삼성전자"),
)
UTF16LE_NO_BOM = Sample(
    "utf-16le-no-bom",
    "utf-16-le",
    "utf-16le",
    ("Email", "Last Name", "First Name", "City", "Company"),
    NAMES,
    MIXED_ROWS,
    delimiter="\t",
)
UTF16BE_NO_BOM = Sample(
    "utf-16be-no-bom",
    "utf-16-be",
    "utf-16be",
    ("Email", "Last Name", "First Name", "City", "Company"),
    NAMES,
    MIXED_ROWS,
)
WESTERN_1252 = Sample(
    "windows-1252",
    "cp1252",
    "windows-1252",
    ("Email", "Nachname", "Vorname", "Stadt", "Firma"),
    NAMES,
    (
        ("mueller@example.de", "Müller", "Renée", "München", "Café Größe"),
        ("weiss@example.de", "Weiß", "Jürgen", "Köln", "Bäckerei Öztürk"),
        ("lefevre@example.fr", "Lefèvre", "Hélène", "Besançon", "Crème brûlée & Cie"),
        ("nunez@example.es", "Núñez", "José", "Málaga", "Peña Ibáñez S.L."),
        ("sorensen@example.no", "Sørensen", "Øyvind", "Tromsø", "Nordlys – „Fisk“ AS"),
    ),
    delimiter=";",
)

# The encodings the issue names, plus UTF-16 without BOM and the Western default.
REQUIRED = (
    CYRILLIC_1251,
    CZECH_1250,
    POLISH_8859_2,
    JAPANESE_SJIS,
    CHINESE_GB18030,
    KOREAN_EUC_KR,
    UTF16LE_NO_BOM,
    UTF16BE_NO_BOM,
    WESTERN_1252,
)


def simple(
    id: str, codec: str, label: str, header: tuple[str, ...], *rows: tuple[str, ...]
) -> Sample:
    return Sample(id, codec, label, header, NAMES[: len(header) - 1], rows)


# More languages the detector should recognise (reported in the detection table).
MORE = (
    simple(
        "windows-1250-polish",
        "cp1250",
        "windows-1250",
        ("Email", "Nazwisko", "Imię", "Miasto"),
        ("kowalski@example.pl", "Kowalski", "Łukasz", "Łódź"),
        ("wisniewska@example.pl", "Wiśniewska", "Zofia", "Kraków"),
        ("zielinski@example.pl", "Zieliński", "Grzegorz", "Gdańsk"),
        ("wojcik@example.pl", "Wójcik", "Małgorzata", "Wrocław"),
    ),
    simple(
        "windows-1250-croatian",
        "cp1250",
        "windows-1250",
        ("Email", "Prezime", "Ime", "Grad"),
        ("horvat@example.hr", "Horvat", "Ivan", "Zagreb"),
        ("kovacevic@example.hr", "Kovačević", "Željka", "Split"),
        ("babic@example.hr", "Babić", "Đuro", "Čakovec"),
        ("juric@example.hr", "Jurić", "Šime", "Šibenik"),
    ),
    simple(
        "windows-1250-hungarian",
        "cp1250",
        "windows-1250",
        ("Email", "Vezetéknév", "Keresztnév", "Város"),
        ("nagy@example.hu", "Nagy", "Zoltán", "Győr"),
        ("kovacs@example.hu", "Kovács", "Erzsébet", "Szőlőhegy"),
        ("toth@example.hu", "Tóth", "Gyöngyvér", "Pécs"),
        ("szabo@example.hu", "Szabó", "Ödön", "Nyíregyháza"),
    ),
    simple(
        "iso-8859-2-czech",
        "iso8859_2",
        "iso-8859-2",
        ("Email", "Příjmení", "Jméno", "Město"),
        ("novak@example.cz", "Novák", "Jiří", "Praha"),
        ("svobodova@example.cz", "Svobodová", "Žaneta", "Brno"),
        ("dvorak@example.cz", "Dvořák", "Tomáš", "Ostrava"),
        ("cerny@example.cz", "Černý", "Lukáš", "Plzeň"),
    ),
    simple(
        "windows-1254-turkish",
        "cp1254",
        "windows-1254",
        ("Email", "Soyad", "Ad", "Şehir"),
        ("yilmaz@example.tr", "Yılmaz", "Ahmet", "İstanbul"),
        ("ozturk@example.tr", "Öztürk", "Ayşe", "İzmir"),
        ("celik@example.tr", "Çelik", "Mehmet", "Ankara"),
        ("sahin@example.tr", "Şahin", "Fatma", "Muğla"),
    ),
    simple(
        "windows-1253-greek",
        "cp1253",
        "windows-1253",
        ("Email", "Επώνυμο", "Όνομα", "Πόλη"),
        ("papadopoulos@example.gr", "Παπαδόπουλος", "Γιώργος", "Αθήνα"),
        ("nikolaou@example.gr", "Νικολάου", "Μαρία", "Θεσσαλονίκη"),
        ("georgiou@example.gr", "Γεωργίου", "Νίκος", "Πάτρα"),
    ),
    simple(
        "koi8-r",
        "koi8_r",
        "koi8-r",
        ("Email", "Фамилия", "Имя", "Город"),
        ("ivanov@example.ru", "Иванов", "Иван", "Москва"),
        ("petrova@example.ru", "Петрова", "Мария", "Санкт-Петербург"),
        ("sidorov@example.ru", "Сидоров", "Алексей", "Новосибирск"),
    ),
    simple(
        "big5",
        "big5",
        "big5",
        ("Email", "姓名", "公司", "城市"),
        ("chen@example.tw", "陳志明", "台灣積體電路", "新竹"),
        ("lin@example.tw", "林美玲", "鴻海精密", "台北"),
        ("huang@example.tw", "黃建國", "長榮航空", "桃園"),
    ),
    simple(
        "euc-jp",
        "euc_jp",
        "euc-jp",
        ("Email", "姓", "名", "会社"),
        ("yamada@example.jp", "山田", "太郎", "株式会社サンプル"),
        ("suzuki@example.jp", "鈴木", "花子", "東京商事"),
        ("tanaka@example.jp", "田中", "一郎", "大阪物産"),
    ),
)

# Too little text to tell: read as Windows-1252 and answered as "guessed".
SHORT_CYRILLIC = simple(
    "short-windows-1251", "cp1251", "windows-1251", ("Email", "Имя"), ("ivan@example.ru", "Иван")
)
SHORT_SJIS = simple(
    "short-shift_jis", "shift_jis", "shift_jis", ("Email", "名前"), ("yamada@example.jp", "山田")
)
SHORT_WESTERN = simple(
    "short-windows-1252", "cp1252", "windows-1252", ("Email", "Name"), ("jose@example.es", "José")
)
# Too little text, and not Windows-1252 either (ー is 0x81 0x5B; 0x81 is undefined there).
SHORT_SJIS_NOT_1252 = simple(
    "short-shift_jis-not-1252",
    "shift_jis",
    "shift_jis",
    ("Email", "名前"),
    ("sato@example.jp", "サトー"),
)
