"""The demo catalogue: fourteen fictional referenced services, in every category and of every kind, the apps of
those that exchange data, and two of them connected to the demo citizen's space.

Names, editors, addresses and telephone numbers are invented: the websites use the reserved ``.example`` domain,
the telephone numbers the range that ARCEP keeps for fiction (01 99 00 …), and the store links fictitious
identifiers. Each service goes through the same path as an entry of the admin (checks, re-encoded images) and is
published by ``service_publish``. A service whose slug already exists is left as it is, so running the demo again
changes nothing.

Each service that exchanges data gets its app as référencement would grant it: a confidential OAuth2 client
(redirect URI on the reserved fictional domain ``exemple.fr``, a random secret nobody knows: the demo apps never
call the API), and a habilitation with a fictional OID under ``1.2.250.1.999`` and the scopes of the data the
service declares. Camille Durand, the demo citizen, has connected two of them, which then sent her measures through
the same services as the API (``app_access`` and ``measure_record_observation``): her history shows them.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application

from catalogue.demo_drawing import Screen, logo_png, screen_png
from catalogue.models import (
    AccessibilityCompliance,
    Category,
    DataExchange,
    MedicalDeviceClass,
    PriceModel,
    Service,
    ServiceKind,
    exchange_scopes,
)
from catalogue.services import screenshot_add, service_logo_set, service_publish
from dossier.fhir.measures import build_observation
from dossier.measures_catalog import IDPE_SYSTEM, measure_spec
from dossier.models import MeasureKind, SourceKind
from dossier.services.measures import measure_record_observation
from mes.acces.models import AppHabilitation, Pairing
from mes.acces.policy import app_access
from mes.acces.services.pairings import habilitation_grant, pairing_consent, pairing_touch
from mes.comptes.models import Citizen

DEMO_ACTOR_LABEL = "Données de démonstration"
PARIS = ZoneInfo("Europe/Paris")
# Fictional OIDs: the arc 1.2.250.1.999 is not attributed; the demo apps take numbers far above those of the tests.
DEMO_OID_ARC = "1.2.250.1.999"
DEMO_OID_FIRST = 9001


@dataclass(frozen=True)
class DemoService:
    slug: str
    name: str
    initials: str
    colour: str
    editor: str
    category: str
    kind: str
    short: str
    long: list[str]
    price: str
    screens: list[Screen]
    price_details: str = ""
    device_class: str = ""
    connected: str = ""
    exchanges: list[str] = field(default_factory=list)
    website: bool = True
    stores: bool = False
    phone: str = ""
    accessibility: str = AccessibilityCompliance.PARTIAL


DEMO_SERVICES: list[DemoService] = [
    # --- Accès aux soins & prise de RDV ---
    DemoService(
        slug="rendez-vous-horizon",
        name="Rendez-vous Horizon",
        initials="RH",
        colour="#1f5fad",
        editor="Horizon Médical SAS",
        category=Category.CARE_ACCESS,
        kind=ServiceKind.BOTH,
        short=(
            "Trouvez un professionnel de santé près de chez vous et prenez rendez-vous en ligne, au cabinet ou en "
            "vidéo."
        ),
        long=[
            "Rendez-vous Horizon recense les médecins généralistes et spécialistes, les masseurs-kinésithérapeutes, "
            "les chirurgiens-dentistes et les centres de santé qui proposent la prise de rendez-vous en ligne. Vous "
            "choisissez un créneau libre, vous recevez une confirmation, puis un rappel la veille.",
            "Si le professionnel le propose, la consultation peut avoir lieu en vidéo : un lien sécurisé vous est "
            "envoyé, sans logiciel à installer. Elle est remboursée dans les conditions habituelles, notamment dans "
            "le respect du parcours de soins coordonnés.",
            "Avec votre accord, les rendez-vous pris dans Rendez-vous Horizon s’ajoutent à l’agenda de Mon espace "
            "santé, et le service peut utiliser votre numéro de téléphone pour vous envoyer les rappels.",
            "Le service est gratuit pour les patients. Il est financé par l’abonnement des professionnels qui "
            "l’utilisent ; vos données ne sont ni vendues, ni utilisées à des fins publicitaires.",
        ],
        price=PriceModel.FREE,
        exchanges=[DataExchange.AGENDA_WRITE, DataExchange.CONTACT_READ],
        stores=True,
        phone="01 99 00 12 34",
        screens=[
            Screen(
                "list",
                "Prendre rendez-vous",
                "Liste de médecins généralistes disponibles près de chez vous, "
                "avec le prochain créneau libre de chacun.",
                items=[
                    "Dr Claire Martin|Médecin généraliste — demain 9 h 15",
                    "Centre de santé des Lilas|Généralistes — aujourd’hui 17 h 40",
                    "Dr Paul Lefèvre|Médecin généraliste — jeudi 11 h 00",
                    "Cabinet du Parc|Kinésithérapie — lundi 8 h 30",
                ],
            ),
            Screen(
                "calendar",
                "Choisir un créneau",
                "Calendrier du mois avec les jours disponibles mis en "
                "évidence et la liste des créneaux du jour choisi.",
                value="Mars",
                items=["9 h 15|Au cabinet", "10 h 30|En vidéo"],
            ),
            Screen(
                "form",
                "Confirmer",
                "Formulaire de confirmation du rendez-vous : motif, patient et rappel "
                "par SMS, avec le bouton Confirmer.",
                items=["Motif|Première consultation", "Patient|Vous-même", "Rappel|SMS la veille"],
                button="Confirmer le rendez-vous",
            ),
        ],
    ),
    DemoService(
        slug="pharmagarde-proxi",
        name="Pharmagarde Proxi",
        initials="PP",
        colour="#18753c",
        editor="Officine Numérique",
        category=Category.CARE_ACCESS,
        kind=ServiceKind.MOBILE,
        short=(
            "Trouvez la pharmacie de garde la plus proche, ses horaires et l’itinéraire pour vous y rendre, de jour "
            "comme de nuit."
        ),
        long=[
            "La nuit, le dimanche ou un jour férié, Pharmagarde Proxi indique la pharmacie de garde la plus proche "
            "de l’endroit où vous êtes, à partir des tableaux de garde transmis par les pharmaciens de chaque "
            "département.",
            "Pour chaque officine : l’adresse, le numéro de téléphone, les horaires d’ouverture et l’itinéraire à "
            "pied, en voiture ou en transports en commun. L’application précise quand un passage par le commissariat "
            "ou un appel préalable est demandé la nuit.",
            "Votre position n’est utilisée que sur votre téléphone, le temps de la recherche : elle n’est ni "
            "enregistrée, ni transmise à l’éditeur. L’application n’échange aucune donnée avec Mon espace santé.",
        ],
        price=PriceModel.FREE,
        website=False,
        stores=True,
        accessibility=AccessibilityCompliance.FULL,
        screens=[
            Screen(
                "list",
                "Pharmacies de garde",
                "Liste des pharmacies de garde les plus proches, avec la distance et l’heure de fermeture.",
                items=[
                    "Pharmacie de la Gare|à 650 m — ouverte jusqu’à 8 h",
                    "Pharmacie du Marché|à 2,1 km — ouverte jusqu’à 20 h",
                    "Pharmacie des Tilleuls|à 3,4 km — appeler avant de venir",
                ],
            ),
            Screen(
                "article",
                "Pharmacie de la Gare",
                "Fiche d’une pharmacie de garde : adresse, horaires et bouton pour lancer l’itinéraire.",
                value="Pharmacie de la Gare, 12 place de la Gare",
                items=[
                    "De garde cette nuit jusqu’à 8 h.",
                    "La nuit, sonnez à l’interphone : le pharmacien vous répond par le guichet.",
                ],
                button="Itinéraire",
            ),
        ],
    ),
    DemoService(
        slug="teleconsult-azur",
        name="Téléconsult Azur",
        initials="TA",
        colour="#0063cb",
        editor="Azur Télésanté",
        category=Category.CARE_ACCESS,
        kind=ServiceKind.WEB,
        short=(
            "Consultez un médecin en vidéo en moins de 30 minutes, 7 jours sur 7, et retrouvez le compte rendu dans "
            "votre espace."
        ),
        long=[
            "Téléconsult Azur met en relation, par vidéo, des patients et des médecins inscrits à l’Ordre qui "
            "exercent en France. Le service s’utilise depuis un ordinateur, une tablette ou un téléphone, dans le "
            "navigateur, sans rien installer.",
            "Votre médecin traitant reste votre premier interlocuteur : lorsqu’il est disponible en vidéo, Téléconsult "
            "Azur vous le propose en premier. Sinon, un médecin de permanence vous répond, en moins de 30 minutes en "
            "moyenne.",
            "À la fin de la consultation, le compte rendu et, le cas échéant, l’ordonnance sont ajoutés à votre "
            "dossier médical de Mon espace santé si vous l’avez autorisé. Votre pharmacien peut lire l’ordonnance "
            "grâce à son code.",
            "Les téléconsultations sont remboursées par l’Assurance Maladie dans les mêmes conditions qu’une "
            "consultation au cabinet ; le tiers payant est appliqué.",
        ],
        price=PriceModel.REIMBURSED,
        price_details="Remboursée comme une consultation au cabinet, avec tiers payant.",
        exchanges=[DataExchange.DOCUMENTS_WRITE, DataExchange.CONTACT_READ],
        phone="01 99 00 45 67",
        screens=[
            Screen(
                "form",
                "Téléconsultation",
                "Formulaire de demande de téléconsultation : motif, symptômes et médecin souhaité.",
                items=[
                    "Motif|Fièvre depuis deux jours",
                    "Médecin|Mon médecin traitant si possible",
                    "Téléphone|06 •• •• •• 21",
                ],
                button="Demander une consultation",
            ),
            Screen(
                "article",
                "Salle d’attente",
                "Salle d’attente virtuelle : temps d’attente estimé et conseils pour préparer la consultation.",
                value="Un médecin vous répond dans 12 minutes environ",
                items=[
                    "Installez-vous dans un endroit calme et bien éclairé.",
                    "Préparez votre carte Vitale et la liste de vos traitements.",
                ],
                button="Tester ma caméra",
            ),
        ],
    ),
    # --- Suivi de pathologies, traitements ---
    DemoService(
        slug="glycosuivi",
        name="GlycoSuivi",
        initials="GS",
        colour="#a94645",
        editor="Glycéa Technologies",
        category=Category.CONDITIONS,
        kind=ServiceKind.BOTH,
        short=(
            "Suivez votre glycémie, vos repas et vos doses d’insuline, et partagez votre carnet avec votre équipe "
            "de diabétologie."
        ),
        long=[
            "GlycoSuivi remplace le carnet papier des personnes qui vivent avec un diabète de type 1 ou de type 2 "
            "traité par insuline. Les glycémies sont relevées automatiquement depuis votre lecteur ou votre capteur "
            "de glucose en continu, et vous notez vos repas, votre activité physique et vos injections.",
            "Un calculateur propose la dose d’insuline rapide à injecter selon votre glycémie, les glucides du repas "
            "et les paramètres fixés par votre diabétologue : c’est pourquoi l’application est un dispositif médical "
            "marqué CE de classe IIb. Elle ne remplace pas l’avis de votre équipe soignante.",
            "Avec votre accord, vos glycémies s’ajoutent aux mesures de santé de Mon espace santé, GlycoSuivi peut "
            "lire celles que vous y avez saisies, et le bilan trimestriel est déposé dans votre dossier médical "
            "avant la consultation.",
            "GlycoSuivi est prescrit par votre médecin dans le cadre de la télésurveillance médicale : il est alors "
            "pris en charge par l’Assurance Maladie, sans frais pour vous.",
        ],
        price=PriceModel.REIMBURSED,
        price_details="Sur prescription, dans le cadre de la télésurveillance médicale.",
        device_class=MedicalDeviceClass.IIB,
        connected="lecteurs de glycémie et capteurs de glucose en continu compatibles",
        exchanges=[DataExchange.MEASURES_READ, DataExchange.MEASURES_WRITE, DataExchange.DOCUMENTS_WRITE],
        stores=True,
        phone="01 99 00 23 45",
        screens=[
            Screen(
                "chart",
                "Ma glycémie",
                "Courbe des glycémies de la journée, dernière valeur 1,12 g/L, et liste des derniers repas.",
                value="1,12 g/L",
                values=[0.95, 1.42, 1.18, 1.05, 1.61, 1.2, 1.12],
                items=["Aujourd’hui, 7 mesures", "Déjeuner|60 g de glucides — 6 unités", "Collation|15 g de glucides"],
            ),
            Screen(
                "form",
                "Calcul de dose",
                "Calculateur de dose d’insuline : glycémie, glucides du repas et dose proposée.",
                items=["Glycémie|1,48 g/L", "Glucides du repas|75 g", "Dose proposée|7 unités"],
                button="Enregistrer l’injection",
            ),
            Screen(
                "list",
                "Mon carnet",
                "Carnet des trois derniers jours avec les moyennes et les hypoglycémies.",
                items=[
                    "Lundi|Moyenne 1,21 g/L — aucune hypoglycémie",
                    "Mardi|Moyenne 1,34 g/L — 1 hypoglycémie",
                    "Mercredi|Moyenne 1,16 g/L — aucune hypoglycémie",
                ],
            ),
        ],
    ),
    DemoService(
        slug="tensiocarnet",
        name="TensioCarnet",
        initials="TC",
        colour="#c9191e",
        editor="Cardio Partage",
        category=Category.CONDITIONS,
        kind=ServiceKind.MOBILE,
        short=(
            "Mesurez votre tension à domicile selon la règle des 3 et montrez des résultats clairs à votre médecin."
        ),
        long=[
            "L’automesure tensionnelle aide votre médecin à confirmer une hypertension artérielle et à ajuster votre "
            "traitement. TensioCarnet vous guide pas à pas selon la règle des 3 recommandée par la Haute Autorité "
            "de santé : 3 mesures le matin, 3 mesures le soir, 3 jours de suite.",
            "Les valeurs sont relevées directement depuis votre tensiomètre connecté, ou saisies à la main. "
            "L’application calcule les moyennes et signale les valeurs qui justifient d’appeler votre médecin.",
            "Avec votre accord, vos mesures de tension s’ajoutent aux mesures de santé de Mon espace santé, et "
            "TensioCarnet peut y lire celles que vous avez saisies ailleurs, pour un historique complet.",
            "L’application est gratuite. Le rapport mensuel mis en page pour votre médecin est proposé sur abonnement.",
        ],
        price=PriceModel.FREEMIUM,
        price_details="Gratuit ; rapport mensuel pour votre médecin : 2,99 € par mois.",
        device_class=MedicalDeviceClass.IIA,
        connected="tensiomètres connectés au bras ou au poignet (Bluetooth)",
        exchanges=[DataExchange.MEASURES_READ, DataExchange.MEASURES_WRITE],
        website=False,
        stores=True,
        screens=[
            Screen(
                "chart",
                "Ma tension",
                "Courbe de la tension systolique sur trois jours, moyenne 128 sur 82 mmHg.",
                value="128/82 mmHg",
                values=[131, 127, 135, 126, 129, 124],
                items=["Moyenne de la série des 3 jours", "Matin|129/83 mmHg", "Soir|127/81 mmHg"],
            ),
            Screen(
                "article",
                "Règle des 3",
                "Explication de la règle des 3 : trois mesures matin et soir pendant trois jours.",
                value="Série du matin : mesure 2 sur 3",
                items=[
                    "Restez assis, le dos appuyé, le bras posé sur la table.",
                    "Attendez une minute entre deux mesures.",
                ],
                button="Lancer la mesure",
            ),
        ],
    ),
    DemoService(
        slug="souffle-serein",
        name="Souffle Serein",
        initials="SS",
        colour="#009081",
        editor="Souffle Serein SAS",
        category=Category.CONDITIONS,
        kind=ServiceKind.MOBILE,
        short="Asthme ou BPCO : ne manquez plus votre traitement de fond et repérez ce qui déclenche vos crises.",
        long=[
            "Souffle Serein accompagne les personnes asthmatiques ou atteintes de bronchopneumopathie chronique "
            "obstructive (BPCO). Il rappelle les prises du traitement de fond et vous aide à noter vos symptômes, "
            "vos réveils nocturnes et l’utilisation de votre traitement de secours.",
            "Chaque jour, l’application affiche la qualité de l’air et le risque pollinique de votre commune. Au fil "
            "des semaines, elle vous montre les liens possibles entre ces facteurs et vos symptômes, à discuter avec "
            "votre médecin.",
            "Si vous avez un débitmètre de pointe connecté, vos mesures de souffle sont relevées automatiquement. "
            "Avec votre accord, elles s’ajoutent aux mesures de santé de Mon espace santé, et les rendez-vous de "
            "suivi que vous programmez s’ajoutent à votre agenda.",
        ],
        price=PriceModel.FREE,
        device_class=MedicalDeviceClass.I,
        connected="débitmètre de pointe connecté (facultatif)",
        exchanges=[DataExchange.MEASURES_WRITE, DataExchange.AGENDA_WRITE],
        website=False,
        stores=True,
        screens=[
            Screen(
                "list",
                "Aujourd’hui",
                "Tableau de bord du jour : prise du traitement de fond, qualité de l’air et pollens.",
                items=[
                    "Traitement de fond|Matin : pris à 8 h 05",
                    "Qualité de l’air|Bonne",
                    "Pollens|Graminées : risque élevé",
                    "Symptômes|Aucun noté",
                ],
            ),
            Screen(
                "chart",
                "Mon souffle",
                "Courbe du débit expiratoire de pointe sur une semaine, dernière valeur 430 litres par minute.",
                value="430 L/min",
                values=[410, 420, 395, 430, 440, 425, 430],
                items=["Débit expiratoire de pointe, 7 jours"],
            ),
        ],
    ),
    DemoService(
        slug="oncolien",
        name="OncoLien",
        initials="OL",
        colour="#6e445a",
        editor="Lien Onco",
        category=Category.CONDITIONS,
        kind=ServiceKind.BOTH,
        short=(
            "Entre deux cures, signalez vos effets indésirables : l’infirmière de coordination de votre centre est "
            "alertée."
        ),
        long=[
            "OncoLien relie les personnes traitées par chimiothérapie ou thérapie orale à l’équipe de leur centre "
            "de lutte contre le cancer, entre deux séances. Deux fois par semaine, un court questionnaire vous "
            "interroge sur la fièvre, la fatigue, la douleur, les troubles digestifs et la peau.",
            "Lorsque vos réponses le justifient, l’infirmière de coordination est alertée et vous rappelle. Le suivi "
            "par questionnaire a montré qu’il réduisait les passages aux urgences ; il ne remplace pas le 15 en cas "
            "d’urgence.",
            "Avec votre accord, OncoLien lit les comptes rendus de votre dossier médical utiles à l’équipe, y dépose "
            "la synthèse de votre suivi, et ajoute vos prochaines séances à votre agenda.",
            "Le service est proposé gratuitement par les centres qui l’utilisent.",
        ],
        price=PriceModel.FREE,
        price_details="Proposé par votre centre de soins, sans frais pour vous.",
        device_class=MedicalDeviceClass.IIA,
        exchanges=[DataExchange.DOCUMENTS_READ, DataExchange.DOCUMENTS_WRITE, DataExchange.AGENDA_WRITE],
        stores=True,
        phone="01 99 00 56 78",
        screens=[
            Screen(
                "form",
                "Mon questionnaire",
                "Questionnaire de suivi : température, fatigue et douleur, avec le bouton Envoyer à l’équipe.",
                items=["Température|37,8 °C", "Fatigue (0 à 10)|6", "Douleur (0 à 10)|2"],
                button="Envoyer à l’équipe",
            ),
            Screen(
                "calendar",
                "Mes séances",
                "Calendrier des séances de chimiothérapie du mois et liste des prochains rendez-vous.",
                value="Avril",
                items=["Cure 4|Jeudi 11 avril, 9 h", "Prise de sang|Mardi 9 avril, 8 h"],
            ),
        ],
    ),
    # --- Suivi pré / post-hospitalier ---
    DemoService(
        slug="parcours-operatoire-serenite",
        name="Parcours Opératoire Sérénité",
        initials="PO",
        colour="#716043",
        editor="Clinique Numérique du Val",
        category=Category.HOSPITAL,
        kind=ServiceKind.WEB,
        short=(
            "Préparez votre hospitalisation, puis répondez aux questionnaires de suivi après votre retour à domicile."
        ),
        long=[
            "Avant une opération programmée, Parcours Opératoire Sérénité regroupe tout ce que l’établissement vous "
            "demande : la pré-admission en ligne, la liste des documents à apporter, les consignes de jeûne et de "
            "douche préopératoire, et le rappel de la consultation d’anesthésie.",
            "Après votre retour à domicile, le service vous envoie de courts questionnaires aux jours convenus avec "
            "le chirurgien : douleur, cicatrice, température, reprise de la marche. Une réponse inquiétante est "
            "transmise à l’équipe du service, qui vous rappelle.",
            "Avec votre accord, la lettre de liaison et le compte rendu opératoire sont déposés dans votre dossier "
            "médical, les rendez-vous de l’hospitalisation s’ajoutent à votre agenda, et votre numéro de téléphone "
            "sert aux rappels.",
        ],
        price=PriceModel.FREE,
        exchanges=[DataExchange.DOCUMENTS_WRITE, DataExchange.AGENDA_WRITE, DataExchange.CONTACT_READ],
        phone="01 99 00 67 89",
        screens=[
            Screen(
                "list",
                "Ma préparation",
                "Liste des étapes de préparation à l’opération, dont deux déjà faites.",
                items=[
                    "Pré-admission|Faite le 2 mars",
                    "Consultation d’anesthésie|Faite le 5 mars",
                    "Documents à apporter|4 documents",
                    "Douche préopératoire|La veille et le matin",
                ],
            ),
            Screen(
                "form",
                "Suivi à J+3",
                "Questionnaire de suivi trois jours après l’opération : douleur, cicatrice et température.",
                items=["Douleur (0 à 10)|3", "Cicatrice|Propre et sèche", "Température|36,9 °C"],
                button="Envoyer",
            ),
        ],
    ),
    DemoService(
        slug="kine-mouvement",
        name="Kiné Mouvement",
        initials="KM",
        colour="#3558a2",
        editor="Motion Santé",
        category=Category.HOSPITAL,
        kind=ServiceKind.MOBILE,
        short=(
            "Vos exercices de rééducation après une prothèse de genou ou de hanche, guidés en vidéo et suivis par "
            "votre kiné."
        ),
        long=[
            "Après la pose d’une prothèse de genou ou de hanche, la rééducation continue à la maison entre les "
            "séances de kinésithérapie. Kiné Mouvement propose chaque jour le programme d’exercices choisi par votre "
            "masseur-kinésithérapeute, expliqué en vidéo et en texte.",
            "Un petit capteur de mouvement, fourni avec l’application et fixé à la jambe, mesure l’amplitude de "
            "flexion et compte les répétitions. Votre kiné suit vos progrès et adapte le programme.",
            "Avec votre accord, le bilan de fin de rééducation est déposé dans votre dossier médical de Mon espace "
            "santé.",
        ],
        price=PriceModel.REIMBURSED,
        price_details="Sur prescription de votre chirurgien, sans frais pour vous.",
        device_class=MedicalDeviceClass.I,
        connected="capteur de mouvement fixé à la jambe (fourni)",
        exchanges=[DataExchange.DOCUMENTS_WRITE],
        website=False,
        stores=True,
        screens=[
            Screen(
                "list",
                "Programme du jour",
                "Programme d’exercices du jour : quatre exercices dont deux faits.",
                items=[
                    "Flexion du genou assis|3 séries de 10 — fait",
                    "Extension jambe tendue|3 séries de 10 — fait",
                    "Montée de marche|2 séries de 8",
                    "Marche|15 minutes",
                ],
            ),
            Screen(
                "chart",
                "Mes progrès",
                "Courbe de l’amplitude de flexion du genou sur trois semaines, aujourd’hui 95 degrés.",
                value="95°",
                values=[60, 68, 74, 80, 86, 91, 95],
                items=["Flexion du genou, 3 semaines"],
            ),
        ],
    ),
    # --- Suivi généraliste, prévention & bien-être ---
    DemoService(
        slug="pas-a-pas-sante",
        name="Pas à Pas Santé",
        initials="PS",
        colour="#b34000",
        editor="Pas à Pas SAS",
        category=Category.PREVENTION,
        kind=ServiceKind.MOBILE,
        short="Comptez vos pas, fixez-vous un objectif de marche réaliste et gardez la forme au quotidien.",
        long=[
            "Marcher 30 minutes par jour réduit le risque de maladies cardiovasculaires, de diabète et de certains "
            "cancers. Pas à Pas Santé compte vos pas avec votre téléphone, votre montre ou votre bracelet "
            "d’activité, et vous propose un objectif qui progresse à votre rythme.",
            "Des parcours de marche près de chez vous, des défis entre amis et des conseils de professionnels de "
            "l’activité physique adaptée vous aident à tenir dans la durée.",
            "Avec votre accord, votre nombre de pas quotidien s’ajoute aux mesures de santé de Mon espace santé.",
            "L’application est gratuite ; les programmes d’entraînement personnalisés sont proposés en achat intégré.",
        ],
        price=PriceModel.FREEMIUM,
        price_details="Programmes d’entraînement : 4,99 € chacun.",
        connected="montres et bracelets d’activité",
        exchanges=[DataExchange.MEASURES_WRITE],
        website=False,
        stores=True,
        accessibility=AccessibilityCompliance.FULL,
        screens=[
            Screen(
                "chart",
                "Mes pas",
                "Nombre de pas des sept derniers jours, 8 412 pas aujourd’hui pour un objectif de 8 000.",
                value="8 412 pas",
                values=[5200, 7400, 6100, 9300, 8000, 4300, 8412],
                items=["Objectif du jour : 8 000 pas — atteint"],
            ),
            Screen(
                "list",
                "Parcours",
                "Parcours de marche proposés près de chez vous, avec leur durée.",
                items=[
                    "Les bords du canal|4,2 km — 50 min",
                    "Le tour du parc|2,5 km — 30 min",
                    "Les coteaux|6 km — 1 h 20",
                ],
            ),
        ],
    ),
    DemoService(
        slug="sommeil-clair",
        name="Sommeil Clair",
        initials="SC",
        colour="#465f9d",
        editor="Sommeil Clair SAS",
        category=Category.PREVENTION,
        kind=ServiceKind.BOTH,
        short="Un programme de six semaines pour retrouver un sommeil réparateur, sans médicament.",
        long=[
            "Sommeil Clair s’adresse aux adultes qui dorment mal depuis plusieurs semaines. Le programme reprend les "
            "principes des thérapies cognitives et comportementales de l’insomnie : un agenda du sommeil, des "
            "horaires réguliers, et des exercices pour apaiser les pensées qui empêchent de s’endormir.",
            "Chaque semaine, une nouvelle étape de 15 minutes : comprendre son sommeil, ajuster le temps passé au "
            "lit, relaxation et méditation guidée, gestion des réveils nocturnes. Les séances audio s’écoutent "
            "aussi hors connexion.",
            "Sommeil Clair ne remplace pas une consultation : si vous ronflez fortement, si vous vous endormez dans "
            "la journée ou si votre humeur est durablement triste, parlez-en à votre médecin. L’application "
            "n’échange aucune donnée avec Mon espace santé.",
        ],
        price=PriceModel.SUBSCRIPTION,
        price_details="9,90 € par mois, 7 jours d’essai gratuit, résiliable à tout moment.",
        stores=True,
        screens=[
            Screen(
                "article",
                "Semaine 2",
                "Étape de la semaine : régularité des horaires, avec le bouton pour écouter la séance.",
                value="Se lever à heure fixe, même le week-end",
                items=[
                    "Votre horloge interne a besoin de repères réguliers.",
                    "Cette semaine, choisissez une heure de lever et tenez-la sept jours.",
                ],
                button="Écouter la séance",
            ),
            Screen(
                "list",
                "Mon agenda du sommeil",
                "Agenda du sommeil des trois dernières nuits avec l’efficacité du sommeil.",
                items=[
                    "Nuit de lundi|6 h 10 de sommeil — efficacité 82 %",
                    "Nuit de mardi|6 h 40 — efficacité 86 %",
                    "Nuit de mercredi|7 h 05 — efficacité 90 %",
                ],
            ),
            Screen(
                "article",
                "Méditation",
                "Séance de méditation guidée de dix minutes pour le soir.",
                value="Respiration du soir — 10 minutes",
                items=["Allongez-vous et laissez venir la voix.", "Rien à réussir : seulement observer votre souffle."],
                button="Commencer",
            ),
        ],
    ),
    DemoService(
        slug="vaccirappel",
        name="VacciRappel",
        initials="VR",
        colour="#00a95f",
        editor="Prévenir Ensemble (association)",
        category=Category.PREVENTION,
        kind=ServiceKind.BOTH,
        short="Les vaccins et les dépistages de toute la famille, avec un rappel quand la date approche.",
        long=[
            "VacciRappel tient à jour le calendrier des vaccinations de chaque membre de la famille, des vaccins du "
            "nourrisson aux rappels de l’adulte à 25, 45 et 65 ans, puis tous les 10 ans. Vous enregistrez les "
            "vaccins faits ; l’application vous prévient quand le prochain approche.",
            "Elle rappelle aussi les dépistages organisés des cancers (sein, côlon, col de l’utérus), les examens "
            "bucco-dentaires « M’T dents » des enfants et des jeunes, et la vaccination contre la grippe à partir "
            "de 65 ans.",
            "Avec votre accord, les vaccinations que vous enregistrez s’ajoutent à votre profil médical de Mon "
            "espace santé, et les rendez-vous de vaccination ou de dépistage s’ajoutent à votre agenda.",
        ],
        price=PriceModel.FREE,
        exchanges=[DataExchange.IMMUNIZATIONS_WRITE, DataExchange.AGENDA_WRITE],
        stores=True,
        accessibility=AccessibilityCompliance.FULL,
        screens=[
            Screen(
                "list",
                "Ma famille",
                "Prochains vaccins et dépistages des membres de la famille.",
                items=[
                    "Léa, 11 ans|Rappel DTCaP-Polio à faire",
                    "Vous, 45 ans|Rappel diphtérie-tétanos en juin",
                    "Michel, 66 ans|Grippe : campagne en octobre",
                ],
            ),
            Screen(
                "calendar",
                "Mes rappels",
                "Calendrier des rappels du mois et liste des prochains rendez-vous.",
                value="Juin",
                items=["Rappel dTP|Mardi 4 juin", "Dépistage colorectal|Avant le 30 juin"],
            ),
        ],
    ),
    # --- Sites d'information en santé ---
    DemoService(
        slug="sante-reperes",
        name="Santé Repères",
        initials="SR",
        colour="#000091",
        editor="Santé Repères (association)",
        category=Category.INFORMATION,
        kind=ServiceKind.INFORMATION_SITE,
        short="Comprendre le système de santé : vos droits, le parcours de soins, les remboursements, pas à pas.",
        long=[
            "Santé Repères explique simplement le fonctionnement du système de santé français : déclarer un médecin "
            "traitant, comprendre le parcours de soins coordonnés, ce que remboursent l’Assurance Maladie et la "
            "complémentaire santé, ou comment obtenir la Complémentaire santé solidaire.",
            "Des fiches pratiques accompagnent les moments de la vie : une grossesse, l’arrivée d’un enfant, une "
            "maladie chronique, une hospitalisation, l’aide à un proche. Chaque fiche cite ses sources officielles "
            "et indique sa date de mise à jour.",
            "Les textes sont écrits en langage clair et relus par des usagers ; la plupart existent aussi en facile "
            "à lire et à comprendre (FALC).",
        ],
        price=PriceModel.FREE,
        accessibility=AccessibilityCompliance.FULL,
        screens=[
            Screen(
                "article",
                "Fiche pratique",
                "Fiche pratique sur le médecin traitant : pourquoi et comment le déclarer.",
                value="Déclarer son médecin traitant : pourquoi et comment ?",
                items=[
                    "Le médecin traitant coordonne vos soins et vous oriente vers un spécialiste.",
                    "La déclaration se fait avec lui, lors d’une consultation.",
                ],
            ),
            Screen(
                "list",
                "Thèmes",
                "Liste des thèmes du site : droits, remboursements, parcours de soins, aidants.",
                items=[
                    "Mes droits|12 fiches",
                    "Remboursements|9 fiches",
                    "Parcours de soins|7 fiches",
                    "Aidants|5 fiches",
                ],
            ),
        ],
    ),
    DemoService(
        slug="medicaments-clairs",
        name="Médicaments Clairs",
        initials="MC",
        colour="#7d4e5b",
        editor="Collectif Médicaments Clairs",
        category=Category.INFORMATION,
        kind=ServiceKind.INFORMATION_SITE,
        short="La notice de vos médicaments expliquée en mots simples : à quoi ils servent, comment les prendre.",
        long=[
            "Médicaments Clairs reprend les notices officielles des médicaments les plus prescrits et les explique "
            "en langage courant : à quoi sert le médicament, comment et quand le prendre, que faire en cas d’oubli, "
            "quels effets indésirables doivent faire consulter.",
            "Un module signale les associations à éviter entre médicaments courants, et avec l’alcool ou le "
            "pamplemousse. Il ne remplace pas le conseil de votre pharmacien, qui connaît l’ensemble de vos "
            "traitements.",
            "Les fiches sont rédigées par des pharmaciens et relues par des associations de patients. Le site ne "
            "contient aucune publicité.",
        ],
        price=PriceModel.FREE,
        screens=[
            Screen(
                "article",
                "Paracétamol",
                "Fiche d’un médicament expliquée simplement : à quoi il sert et la dose maximale.",
                value="Paracétamol : à quoi sert-il ?",
                items=[
                    "Il soulage la douleur et fait baisser la fièvre.",
                    "Chez l’adulte, pas plus de 3 g par "
                    "jour sans avis médical, en espaçant les prises de 4 à 6 heures.",
                ],
            ),
            Screen(
                "form",
                "Interactions",
                "Outil de vérification des associations entre deux médicaments.",
                items=["Premier médicament|Ibuprofène", "Second médicament|Aspirine"],
                button="Vérifier l’association",
            ),
        ],
    ),
]


def _fields(demo: DemoService) -> dict:
    domain = f"{demo.slug}.example"
    fields = {
        "slug": demo.slug,
        "name": demo.name,
        "editor_name": demo.editor,
        "category": demo.category,
        "kind": demo.kind,
        "short_description": demo.short,
        "long_description": "\n\n".join(demo.long),
        "price_model": demo.price,
        "price_details": demo.price_details,
        "medical_device": bool(demo.device_class),
        "medical_device_class": demo.device_class,
        "connected_objects": bool(demo.connected),
        "connected_objects_details": demo.connected,
        "data_exchanges": list(demo.exchanges),
        "support_email": f"aide@{domain}",
        "support_phone": demo.phone,
        "support_url": f"https://{domain}/aide",
        "accessibility_compliance": demo.accessibility,
        "accessibility_url": f"https://{domain}/accessibilite",
    }
    if demo.website or demo.kind != ServiceKind.MOBILE:
        fields["website_url"] = f"https://{domain}"
    if demo.stores:
        number = 6_400_000_000 + sum(map(ord, demo.slug))
        fields["app_store_url"] = f"https://apps.apple.com/fr/app/{demo.slug}/id{number}"
        fields["google_play_url"] = (
            f"https://play.google.com/store/apps/details?id=example.{demo.slug.replace('-', '')}"
        )
    return fields


@transaction.atomic
def demo_service_create(demo: DemoService) -> Service | None:
    """Create and publish one demo service, unless its slug is taken."""
    if Service.objects.filter(slug=demo.slug).exists():
        return None
    service = Service(**_fields(demo))
    service.full_clean(validate_constraints=False)  # PostgreSQL checks the constraints at the save
    service.save()
    service_logo_set(service=service, upload=logo_png(demo.initials, demo.colour))
    for screen in demo.screens:
        screenshot_add(service=service, upload=screen_png(screen, demo.colour), alt_text=screen.alt)
    return service_publish(actor=None, service=service, actor_label=DEMO_ACTOR_LABEL)


def demo_services_create() -> list[Service]:
    """The demo catalogue; the services already there are left untouched."""
    return [service for demo in DEMO_SERVICES if (service := demo_service_create(demo)) is not None]


# --- The apps of the services, and the demo citizen's connections --------------------------------------------------


def demo_redirect_uri(slug: str) -> str:
    return f"https://{slug}.exemple.fr/oauth/retour"


def demo_oid(demo: DemoService) -> str:
    return f"{DEMO_OID_ARC}.{DEMO_OID_FIRST + DEMO_SERVICES.index(demo)}"


@transaction.atomic
def demo_app_create(demo: DemoService) -> AppHabilitation | None:
    """The OAuth2 client and the habilitation of a demo service that exchanges data, linked from the service;
    ``None`` when the service exchanges nothing, is absent, or already has its app."""
    service = Service.objects.select_for_update().filter(slug=demo.slug).first()
    if service is None or not service.data_exchanges or service.habilitation_id is not None:
        return None
    habilitation = AppHabilitation.objects.filter(oid=demo_oid(demo)).first()
    if habilitation is None:
        application = Application.objects.create(
            name=service.name,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=demo_redirect_uri(demo.slug),
            # Stored hashed and never shown: a demo app has no backend that would use it.
            client_secret=generate_client_secret(),
            skip_authorization=False,
            algorithm=Application.RS256_ALGORITHM,
        )
        habilitation = habilitation_grant(
            actor=None,
            actor_label=DEMO_ACTOR_LABEL,
            application=application,
            name=service.name,
            editor_name=service.editor_name,
            oid=demo_oid(demo),
            approved_scopes=exchange_scopes(service.data_exchanges),
        )
    service.habilitation = habilitation
    service.save(update_fields=["habilitation"])
    return habilitation


@dataclass(frozen=True)
class DemoMeasure:
    kind: str
    days_ago: int
    hour: int
    value: Decimal
    value_secondary: Decimal | None = None


# The two services Camille connected, and the measures each sent since: TensioCarnet the morning series of her
# last home blood-pressure check (the « règle des 3 »), Pas à Pas Santé her steps of the last three days.
DEMO_CONNECTIONS: dict[str, list[DemoMeasure]] = {
    "tensiocarnet": [
        DemoMeasure(MeasureKind.BLOOD_PRESSURE, 3, 7, Decimal(127), Decimal(81)),
        DemoMeasure(MeasureKind.BLOOD_PRESSURE, 2, 7, Decimal(131), Decimal(84)),
        DemoMeasure(MeasureKind.BLOOD_PRESSURE, 1, 7, Decimal(125), Decimal(80)),
    ],
    "pas-a-pas-sante": [
        DemoMeasure(MeasureKind.STEPS, 3, 22, Decimal(7840)),
        DemoMeasure(MeasureKind.STEPS, 2, 22, Decimal(10215)),
        DemoMeasure(MeasureKind.STEPS, 1, 22, Decimal(6390)),
    ],
}


def _app_observation(measure: DemoMeasure, *, citizen: Citizen, habilitation: AppHabilitation, idpe: str, today: date):
    """The Observation as the app sends it: the person named by its idPe, the editor's OID as its source."""
    moment = datetime.combine(today - timedelta(days=measure.days_ago), time(measure.hour), tzinfo=PARIS)
    resource = build_observation(
        spec=measure_spec(measure.kind),
        citizen=citizen,
        effective_at=moment,
        value=measure.value,
        value_secondary=measure.value_secondary,
    )
    resource["meta"]["source"] = f"urn:oid:{habilitation.oid}"
    resource["subject"] = {"identifier": {"system": IDPE_SYSTEM, "value": idpe}}
    return resource


@transaction.atomic
def demo_connection_create(*, citizen: Citizen, slug: str, measures: list[DemoMeasure]) -> Pairing | None:
    """Connect the citizen to the app of the service ``slug`` (her consent to all it may ask for), then record the
    measures it sent; nothing when she has ever been connected to it."""
    habilitation = AppHabilitation.objects.filter(catalogue_service__slug=slug).first()
    if habilitation is None or Pairing.objects.filter(citizen=citizen, habilitation=habilitation).exists():
        return None
    pairing = pairing_consent(
        actor=citizen.user,
        citizen=citizen,
        habilitation=habilitation,
        external_id=f"demo-{slug}-{citizen.public_id.hex[:12]}",
        scopes=["openid", *habilitation.approved_scopes],
    )
    access = app_access(pairing, pairing.scopes)
    today = timezone.localdate()
    for measure in measures:
        measure_record_observation(
            access=access,
            resource=_app_observation(
                measure, citizen=citizen, habilitation=habilitation, idpe=pairing.idpe, today=today
            ),
            source_kind=SourceKind.APP,
            source_label=habilitation.name,
            subject_identifiers=frozenset({(IDPE_SYSTEM, pairing.idpe)}),
        )
    pairing_touch(pairing)
    return pairing


def demo_apps_create() -> list[AppHabilitation]:
    """The apps of the demo services that exchange data, then the demo citizen's two connections."""
    from mes.comptes.demo import DEMO_DOMAIN

    created = [habilitation for demo in DEMO_SERVICES if (habilitation := demo_app_create(demo)) is not None]
    citizen = Citizen.objects.filter(user__email=f"camille.durand@{DEMO_DOMAIN}").select_related("user").first()
    if citizen is not None and citizen.has_space:
        for slug, measures in DEMO_CONNECTIONS.items():
            demo_connection_create(citizen=citizen, slug=slug, measures=measures)
    return created
