"""Build the sample files that service definitions show beside each document.

ตัวอย่างเอกสาร (sample) ที่แสดงคู่กับเอกสารแต่ละรายการในแบบคำขอ (A-F4)
สร้างใหม่ได้ด้วยคำสั่ง / rebuild with:

    .venv/bin/python service_definitions/_tools/make_samples.py

Every sample is fictitious: the names are "ตัวอย่าง" (example) placeholders and
the numbers are masked with X, so no personal data is ever published.  The PDFs
are rendered with WeasyPrint and the Sarabun font (OFL) so Thai prints correctly.
This folder holds no YAML, so `eservice check` ignores it.
"""
from __future__ import annotations

from pathlib import Path

from fontpkg_sarabun import ROOT as SARABUN
from weasyprint import HTML

HERE = Path(__file__).resolve().parent
DEFS = HERE.parent

CSS = f"""
@font-face {{ font-family: Sarabun; src: url("{(SARABUN / 'files' / 'Sarabun-Regular.ttf').as_uri()}"); }}
@font-face {{ font-family: Sarabun; font-weight: bold;
             src: url("{(SARABUN / 'files' / 'Sarabun-Bold.ttf').as_uri()}"); }}
@page {{ size: A4; margin: 18mm; }}
body {{ font-family: Sarabun; font-size: 13pt; line-height: 1.6; }}
h1 {{ font-size: 17pt; text-align: center; margin: 0 0 4mm; }}
.stamp {{ position: fixed; top: 95mm; left: 10mm; right: 10mm; text-align: center; font-size: 64pt;
          color: rgba(200, 0, 0, .15); transform: rotate(-30deg); font-weight: bold; }}
.note {{ font-size: 11pt; color: #333; border: 1px solid #999; padding: 2mm 3mm; margin-top: 6mm; }}
.card {{ border: 1.5px solid #333; border-radius: 4mm; width: 86mm; height: 54mm; padding: 3mm 4mm;
         font-size: 10pt; line-height: 1.45; background: #f4f7fb; }}
.box {{ border: 1px solid #333; padding: 3mm 4mm; }}
.dots {{ border-bottom: 1px dotted #555; display: inline-block; min-width: 45mm; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #666; padding: 1mm 2mm; font-size: 11pt; vertical-align: top; }}
"""

WATERMARK = '<div class="stamp">ตัวอย่าง · SAMPLE</div>'


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="th"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head><body>{WATERMARK}{body}</body></html>")


SAMPLES: dict[str, tuple[str, str]] = {}

SAMPLES["id_card_copy_sample.pdf"] = ("ตัวอย่างสำเนาบัตรประจำตัวประชาชน", """
<h1>ตัวอย่างสำเนาบัตรประจำตัวประชาชน<br><small>Example: copy of a Thai ID card</small></h1>
<div class="card">
  <b>บัตรประจำตัวประชาชน</b> Thai National ID Card<br>
  เลขประจำตัวประชาชน&nbsp; X XXXX XXXXX XX X<br>
  ชื่อตัวและชื่อสกุล&nbsp; นาย ตัวอย่าง ใจดี<br>
  Name&nbsp; Mr. Example<br>Last name&nbsp; Jaidee<br>
  เกิดวันที่&nbsp; XX ม.ค. 25XX<br>
  วันหมดอายุ&nbsp; XX ม.ค. 25XX
</div>
<div class="note">
  <b>ถ่ายให้ชัด:</b> เห็นเลขประจำตัวประชาชน ชื่อ และวันหมดอายุครบ ไม่มีแสงสะท้อน ไม่ตัดขอบบัตร
  ไฟล์ PDF JPEG หรือ PNG ขนาดไม่เกิน 5 MB ไม่ต้องลงลายมือชื่อรับรองสำเนา เพราะการยื่นผ่านระบบถือเป็นการรับรองแล้ว<br>
  <b>Take a clear picture:</b> the ID number, name and expiry date must be readable, with no glare and
  no edge cut off. PDF, JPEG or PNG up to 5 MB. No need to sign it as a true copy.
</div>
""")

SAMPLES["food_shop_floor_plan_sample.pdf"] = ("ตัวอย่างแผนผังร้านอาหาร", """
<h1>ตัวอย่างแผนผังภายในร้านอาหาร (พื้นที่ 8 × 6 = 48 ตร.ม.)<br><small>Example floor plan of a food shop</small></h1>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 880 700" width="170mm" font-family="Sarabun" font-size="22">
  <rect x="40" y="40" width="800" height="600" fill="none" stroke="#000" stroke-width="5"/>
  <rect x="40" y="40" width="300" height="250" fill="#fde9d9" stroke="#000" stroke-width="3"/>
  <text x="120" y="150">ครัว / Kitchen</text><text x="110" y="185" font-size="18">เตา 2 หัว · ตู้เย็น</text>
  <rect x="60" y="240" width="120" height="40" fill="#cfe2f3" stroke="#000"/>
  <text x="68" y="268" font-size="17">อ่างล้างภาชนะ</text>
  <rect x="200" y="240" width="120" height="40" fill="#cfe2f3" stroke="#000"/>
  <text x="212" y="268" font-size="17">อ่างล้างมือ</text>
  <rect x="690" y="40" width="150" height="160" fill="#eee" stroke="#000" stroke-width="3"/>
  <text x="712" y="130">ห้องส้วม</text>
  <g fill="#fff" stroke="#000">
    <rect x="420" y="300" width="90" height="60"/><rect x="560" y="300" width="90" height="60"/>
    <rect x="420" y="450" width="90" height="60"/><rect x="560" y="450" width="90" height="60"/>
    <rect x="700" y="450" width="90" height="60"/>
  </g>
  <text x="480" y="420">พื้นที่นั่ง 20 ที่นั่ง / Seating</text>
  <rect x="60" y="560" width="70" height="60" fill="#d9ead3" stroke="#000"/>
  <text x="140" y="600" font-size="18">จุดพักขยะ (มีฝาปิด)</text>
  <line x1="380" y1="640" x2="520" y2="640" stroke="#fff" stroke-width="8"/>
  <text x="385" y="680">ทางเข้า / Entrance</text>
  <text x="400" y="30" font-size="20">8.00 ม.</text>
  <text x="848" y="350" font-size="20" transform="rotate(90 848 350)">6.00 ม.</text>
  <path d="M 820 600 l 0 -50 l -12 20 m 12 -20 l 12 20" stroke="#000" fill="none" stroke-width="3"/>
  <text x="812" y="625" font-size="20">N</text>
</svg>
<div class="note">
  แผนผังต้องบอกขนาดพื้นที่ ตำแหน่งครัว อ่างล้างภาชนะ อ่างล้างมือ ห้องส้วม ที่นั่ง จุดพักขยะ และทางเข้า
  จะวาดด้วยมือแล้วถ่ายภาพก็ได้ · The plan shows the size, kitchen, sinks, toilet, seating, waste point and
  entrance. A clear photo of a hand drawing is fine.
</div>
""")

SAMPLES["health_certificate_sample.pdf"] = ("ตัวอย่างใบรับรองแพทย์", """
<h1>ตัวอย่างใบรับรองแพทย์ของผู้สัมผัสอาหาร<br><small>Example medical certificate of a food handler</small></h1>
<div class="box">
  <p>สถานพยาบาล <span class="dots">โรงพยาบาลตัวอย่าง</span> วันที่ตรวจ <span class="dots">XX / XX / 25XX</span></p>
  <p>ข้าพเจ้า นายแพทย์/แพทย์หญิง <span class="dots">ตัวอย่าง รักษาดี</span>
     ใบอนุญาตประกอบวิชาชีพเวชกรรมเลขที่ <span class="dots">ว.XXXXX</span></p>
  <p>ได้ตรวจร่างกาย <span class="dots">นางสาว ตัวอย่าง สะอาดดี</span> แล้ว ขอรับรองว่า</p>
  <p>☑ มีสุขภาพร่างกายแข็งแรง ไม่เป็นโรคติดต่อหรือพาหะนำโรคที่ติดต่อทางอาหาร
     เช่น อหิวาตกโรค ไทฟอยด์ บิด วัณโรคในระยะอันตราย ไวรัสตับอักเสบชนิดเอ โรคผิวหนังที่น่ารังเกียจ</p>
  <p style="text-align:right">ลงชื่อ ........................................ แพทย์ผู้ตรวจ</p>
</div>
<div class="note">
  ใบรับรองแพทย์ต้องออกให้ไม่เกิน 1 ปี มีชื่อผู้สัมผัสอาหาร วันที่ตรวจ ความเห็นแพทย์ ลายมือชื่อและเลขใบอนุญาตของแพทย์<br>
  The certificate must be less than one year old and show the handler's name, the date, the doctor's opinion,
  signature and licence number.
</div>
""")

SAMPLES["building_site_plan_sample.pdf"] = ("ตัวอย่างแผนผังบริเวณ", """
<h1>ตัวอย่างแผนผังบริเวณ มาตราส่วน 1:200<br><small>Example site plan, scale 1:200</small></h1>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 900 720" width="170mm" font-family="Sarabun" font-size="20">
  <rect x="60" y="60" width="760" height="560" fill="none" stroke="#000" stroke-width="4" stroke-dasharray="18 8"/>
  <text x="330" y="48">แนวเขตที่ดิน โฉนดเลขที่ XXXX (กว้าง 19 ม. ยาว 14 ม.)</text>
  <rect x="200" y="160" width="440" height="320" fill="#eeeeee" stroke="#000" stroke-width="4"/>
  <text x="300" y="300" font-size="26">อาคาร คสล. 2 ชั้น</text>
  <text x="300" y="335">พื้นที่รวม 2 ชั้น 176 ตร.ม.</text>
  <text x="300" y="365">สูง 7.50 ม.</text>
  <line x1="60" y1="320" x2="200" y2="320" stroke="#c00" stroke-width="2"/><text x="80" y="310" fill="#c00">3.50 ม.</text>
  <line x1="640" y1="320" x2="820" y2="320" stroke="#c00" stroke-width="2"/><text x="690" y="310" fill="#c00">4.50 ม.</text>
  <line x1="420" y1="60" x2="420" y2="160" stroke="#c00" stroke-width="2"/><text x="430" y="115" fill="#c00">2.50 ม.</text>
  <line x1="420" y1="480" x2="420" y2="620" stroke="#c00" stroke-width="2"/><text x="430" y="555" fill="#c00">3.50 ม.</text>
  <rect x="60" y="620" width="760" height="60" fill="#f7f7f7" stroke="#000"/>
  <text x="330" y="658">ถนนสาธารณะ กว้าง 6.00 ม. (ทางเข้า)</text>
  <path d="M 850 140 l 0 -60 l -14 24 m 14 -24 l 14 24" stroke="#000" fill="none" stroke-width="3"/>
  <text x="842" y="165">N</text>
</svg>
<div class="note">
  แสดงแนวเขตที่ดิน ตำแหน่งอาคาร ระยะจากอาคารถึงแนวเขตที่ดินทุกด้าน ถนนและทางเข้า ทิศเหนือ และมาตราส่วน
  ลงลายมือชื่อผู้ออกแบบ · Show the boundary, the building, the distance to every boundary, the road and access,
  north and the scale, signed by the designer.
</div>
""")

SAMPLES["structural_calculation_sample.pdf"] = ("ตัวอย่างรายการคำนวณโครงสร้าง", """
<h1>ตัวอย่างหน้าปกรายการคำนวณโครงสร้าง<br><small>Example cover sheet of structural calculations</small></h1>
<table>
  <tr><th style="width:40%">โครงการ / Project</th><td>อาคารพักอาศัย คสล. 3 ชั้น (ตัวอย่าง)</td></tr>
  <tr><th>สถานที่ / Site</th><td>โฉนดเลขที่ XXXX ตำบลบางกระสอ อำเภอเมืองนนทบุรี จังหวัดนนทบุรี</td></tr>
  <tr><th>มาตรฐานที่ใช้ / Design code</th><td>วิธีหน่วยแรงใช้งาน (WSD) ตามมาตรฐาน วสท.</td></tr>
  <tr><th>น้ำหนักบรรทุกจร / Live loads</th><td>พื้นพักอาศัย 150 กก./ตร.ม. · หลังคา 50 กก./ตร.ม.</td></tr>
  <tr><th>กำลังวัสดุ / Materials</th><td>คอนกรีต f'c 240 กก./ตร.ซม. (ทรงกระบอก) · เหล็ก SD40 / SR24</td></tr>
  <tr><th>ฐานราก / Foundation</th><td>เสาเข็มคอนกรีตอัดแรง ยาว 21 ม. รับน้ำหนักปลอดภัย 30 ตัน/ต้น</td></tr>
  <tr><th>รายการ / Contents</th><td>1. พื้น 2. คาน 3. เสา 4. ฐานราก 5. บันได 6. หลังคา</td></tr>
</table>
<p style="margin-top:10mm; text-align:right">
  ลงชื่อ ........................................ วิศวกรผู้คำนวณ<br>
  (นาย ตัวอย่าง มั่นคง) เลขทะเบียน สย. XXXX
</p>
<div class="note">
  ทุกแผ่นต้องมีลายมือชื่อวิศวกรผู้คำนวณ หรือลงลายมือชื่ออิเล็กทรอนิกส์ในไฟล์ PDF ·
  Every sheet is signed by the engineer, or the PDF is signed electronically.
</div>
""")

SAMPLES["engineer_licence_sample.pdf"] = ("ตัวอย่างสำเนาใบอนุญาตวิศวกร", """
<h1>ตัวอย่างสำเนาใบอนุญาตประกอบวิชาชีพวิศวกรรมควบคุม<br><small>Example copy of an engineering licence</small></h1>
<div class="card" style="width:120mm;height:auto">
  <b>สภาวิศวกร</b> Council of Engineers<br>
  ใบอนุญาตประกอบวิชาชีพวิศวกรรมควบคุม<br>
  ระดับ&nbsp; สามัญวิศวกร · สาขา&nbsp; วิศวกรรมโยธา<br>
  เลขทะเบียน&nbsp; สย. XXXX<br>
  ชื่อ&nbsp; นาย ตัวอย่าง มั่นคง<br>
  ใช้ได้ถึง&nbsp; XX / XX / 25XX
</div>
<div class="note">
  ใบอนุญาตต้องยังไม่หมดอายุ ระดับและสาขาต้องตรงกับขนาดและประเภทงาน (งานโครงสร้างอาคารใช้สาขาโยธา) ·
  The licence must be in force, and its level and branch must fit the work (civil for building structures).
</div>
""")

SAMPLES["neighbour_consent_sample.pdf"] = ("ตัวอย่างหนังสือยินยอมของเจ้าของที่ดินข้างเคียง", """
<h1>ตัวอย่างหนังสือยินยอมของเจ้าของที่ดินข้างเคียง<br><small>Example: neighbour's written consent</small></h1>
<p style="text-align:right">เขียนที่ ............................ วันที่ XX เดือน ............ พ.ศ. 25XX</p>
<p>ข้าพเจ้า <span class="dots">นาง ตัวอย่าง เพื่อนบ้าน</span> เจ้าของที่ดินโฉนดเลขที่ <span class="dots">XXXX</span>
   ซึ่งอยู่ติดกับที่ดินโฉนดเลขที่ <span class="dots">YYYY</span> ของ <span class="dots">นาย ตัวอย่าง ใจดี</span></p>
<p>ยินยอมให้ผู้ขออนุญาตก่อสร้างอาคารโดยมีผนังทึบ (ไม่มีช่องเปิด) ห่างจากแนวเขตที่ดินของข้าพเจ้า
   <span class="dots">0.00</span> เมตร ตามแผนผังบริเวณที่แนบ</p>
<p style="text-align:right; margin-top:10mm">
  ลงชื่อ ........................................ ผู้ให้ความยินยอม<br>
  ลงชื่อ ........................................ พยาน<br>
  ลงชื่อ ........................................ พยาน
</p>
<div class="note">
  แนบสำเนาบัตรประจำตัวประชาชนและสำเนาโฉนดของผู้ให้ความยินยอม ·
  Attach the neighbour's ID card copy and title deed copy.
</div>
""")


# Which agency folder gets which sample (a definition can only point inside its own tree).
WHERE = {name: ("nonthaburi-city",) for name in SAMPLES}
WHERE["id_card_copy_sample.pdf"] = ("nonthaburi-city", "chatuchak-district")


def main() -> None:
    for name, (title, body) in SAMPLES.items():
        for agency in WHERE[name]:
            target = DEFS / agency / "samples"
            target.mkdir(parents=True, exist_ok=True)
            path = target / name
            HTML(string=page(title, body), base_url=str(HERE)).write_pdf(path)
            print(f"{path.relative_to(DEFS)}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
