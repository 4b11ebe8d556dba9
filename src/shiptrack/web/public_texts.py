"""What the public tracking page says, in English, German, French and Spanish.

Sentences and labels are ours, written from the ShipEngine status and status detail codes, never
the carrier's own free text: that is English only, and can name the signer or a street.
"""

from __future__ import annotations

#: The page's labels; ``{carrier}`` and ``{when}`` are filled in.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Package tracking",
        "carrier": "Carrier",
        "tracking_number": "Tracking number",
        "estimated_delivery": "Estimated delivery",
        "delivered": "Delivered",
        "as_of": "as of {when}",
        "not_checked": "The carrier has not been asked yet.",
        "checked": "Last checked {when}",
        "history": "Tracking history",
        "no_events": "No scans yet.",
        "carrier_link": "See this package on the {carrier} website",
        "language": "Language",
        "local_time": "local time",
        "undated": "Date unknown",
        "stopped": "Tracking has ended; this page shows the last known state.",
    },
    "de": {
        "title": "Sendungsverfolgung",
        "carrier": "Versanddienstleister",
        "tracking_number": "Sendungsnummer",
        "estimated_delivery": "Voraussichtliche Zustellung",
        "delivered": "Zugestellt",
        "as_of": "Stand: {when}",
        "not_checked": "Der Versanddienstleister wurde noch nicht abgefragt.",
        "checked": "Zuletzt abgefragt: {when}",
        "history": "Sendungsverlauf",
        "no_events": "Noch keine Scans.",
        "carrier_link": "Diese Sendung auf der Website von {carrier} ansehen",
        "language": "Sprache",
        "local_time": "Ortszeit",
        "undated": "Datum unbekannt",
        "stopped": "Die Verfolgung ist beendet; diese Seite zeigt den letzten bekannten Stand.",
    },
    "fr": {
        "title": "Suivi de colis",
        "carrier": "Transporteur",
        "tracking_number": "Numéro de suivi",
        "estimated_delivery": "Livraison estimée",
        "delivered": "Livré",
        "as_of": "au {when}",
        "not_checked": "Le transporteur n'a pas encore été interrogé.",
        "checked": "Dernière vérification : {when}",
        "history": "Historique du suivi",
        "no_events": "Aucun scan pour le moment.",
        "carrier_link": "Voir ce colis sur le site de {carrier}",
        "language": "Langue",
        "local_time": "heure locale",
        "undated": "Date inconnue",
        "stopped": "Le suivi est terminé ; cette page montre le dernier état connu.",
    },
    "es": {
        "title": "Seguimiento de envíos",
        "carrier": "Transportista",
        "tracking_number": "Número de seguimiento",
        "estimated_delivery": "Entrega estimada",
        "delivered": "Entregado",
        "as_of": "a fecha de {when}",
        "not_checked": "Todavía no se ha consultado al transportista.",
        "checked": "Última consulta: {when}",
        "history": "Historial de seguimiento",
        "no_events": "Todavía no hay escaneos.",
        "carrier_link": "Ver este paquete en el sitio web de {carrier}",
        "language": "Idioma",
        "local_time": "hora local",
        "undated": "Fecha desconocida",
        "stopped": "El seguimiento ha terminado; esta página muestra el último estado conocido.",
    },
}

#: The banner's sentence by status code (en, de, fr, es).
SENTENCES: dict[str, tuple[str, str, str, str]] = {
    "UN": (
        "There is no news of your package yet.",
        "Zu Ihrer Sendung gibt es noch keine Neuigkeiten.",
        "Il n'y a pas encore de nouvelles de votre colis.",
        "Todavía no hay noticias de su paquete.",
    ),
    "NY": (
        "Your package has been announced but the carrier does not have it yet.",
        "Ihre Sendung ist angekündigt, aber noch nicht beim Versanddienstleister.",
        "Votre colis est annoncé mais le transporteur ne l'a pas encore reçu.",
        "Su paquete está anunciado, pero el transportista aún no lo tiene.",
    ),
    "AC": (
        "The carrier has your package.",
        "Ihre Sendung ist beim Versanddienstleister.",
        "Le transporteur a pris en charge votre colis.",
        "El transportista tiene su paquete.",
    ),
    "IT": (
        "Your package is on its way.",
        "Ihre Sendung ist unterwegs.",
        "Votre colis est en route.",
        "Su paquete está en camino.",
    ),
    "AT": (
        "The carrier tried to deliver your package but could not.",
        "Der Versanddienstleister konnte Ihre Sendung nicht zustellen.",
        "Le transporteur n'a pas pu livrer votre colis.",
        "El transportista intentó entregar su paquete, pero no pudo.",
    ),
    "SP": (
        "Your package is waiting for you at a pickup point.",
        "Ihre Sendung liegt in einer Abholstelle für Sie bereit.",
        "Votre colis vous attend dans un point relais.",
        "Su paquete le espera en un punto de recogida.",
    ),
    "DE": (
        "Your package has been delivered.",
        "Ihre Sendung wurde zugestellt.",
        "Votre colis a été livré.",
        "Su paquete ha sido entregado.",
    ),
    "EX": (
        "There is a problem with the delivery of your package.",
        "Bei der Zustellung Ihrer Sendung gibt es ein Problem.",
        "Il y a un problème avec la livraison de votre colis.",
        "Hay un problema con la entrega de su paquete.",
    ),
}

#: Sentences for the status details that say more than their status code.
DETAIL_SENTENCES: dict[str, tuple[str, str, str, str]] = {
    "OUT_FOR_DELIVERY": (
        "Your package is out for delivery.",
        "Ihre Sendung ist in der Zustellung.",
        "Votre colis est en cours de livraison.",
        "Su paquete está en reparto.",
    ),
    "CUSTOMS_PROCESSING": (
        "Your package is going through customs.",
        "Ihre Sendung ist in der Zollabfertigung.",
        "Votre colis est en cours de dédouanement.",
        "Su paquete está pasando por la aduana.",
    ),
    "TRACKING_EXPIRED": (
        "Tracking of this package has expired; ask the carrier if it has not arrived.",
        "Die Verfolgung dieser Sendung ist abgelaufen; fragen Sie beim Versanddienstleister "
        "nach, falls sie nicht angekommen ist.",
        "Le suivi de ce colis a expiré ; contactez le transporteur s'il n'est pas arrivé.",
        "El seguimiento de este paquete ha caducado; consulte al transportista si no ha llegado.",
    ),
    "RETURN_TO_SENDER": (
        "Your package is being returned to the sender.",
        "Ihre Sendung wird an den Absender zurückgeschickt.",
        "Votre colis est renvoyé à l'expéditeur.",
        "Su paquete se está devolviendo al remitente.",
    ),
    "UNDELIVERABLE_RETURNED_TO_SENDER": (
        "Your package was returned to the sender.",
        "Ihre Sendung wurde an den Absender zurückgeschickt.",
        "Votre colis a été retourné à l'expéditeur.",
        "Su paquete fue devuelto al remitente.",
    ),
    "ADDRESS_QUERY": (
        "There is a problem with the delivery address of your package.",
        "Es gibt ein Problem mit der Lieferadresse Ihrer Sendung.",
        "Il y a un problème avec l'adresse de livraison de votre colis.",
        "Hay un problema con la dirección de entrega de su paquete.",
    ),
    "PARCEL_LOST": (
        "The carrier reports that your package is lost.",
        "Der Versanddienstleister meldet Ihre Sendung als verloren.",
        "Le transporteur signale que votre colis est perdu.",
        "El transportista informa de que su paquete se ha perdido.",
    ),
    "PARCEL_COLLECTED_FROM_PICKUP_POINT": (
        "Your package has been collected from the pickup point.",
        "Ihre Sendung wurde in der Abholstelle abgeholt.",
        "Votre colis a été retiré au point relais.",
        "Su paquete ha sido recogido en el punto de recogida.",
    ),
}

#: A timeline entry's label by status code.
EVENT_LABELS: dict[str, tuple[str, str, str, str]] = {
    "UN": (
        "Update from the carrier",
        "Meldung des Versanddienstleisters",
        "Information du transporteur",
        "Actualización del transportista",
    ),
    "NY": ("Label created", "Versandetikett erstellt", "Étiquette créée", "Etiqueta creada"),
    "AC": (
        "Accepted by the carrier",
        "Vom Versanddienstleister übernommen",
        "Pris en charge par le transporteur",
        "Aceptado por el transportista",
    ),
    "IT": ("In transit", "Unterwegs", "En transit", "En tránsito"),
    "AT": ("Delivery attempted", "Zustellversuch", "Tentative de livraison", "Intento de entrega"),
    "SP": (
        "At a pickup point",
        "In einer Abholstelle",
        "En point relais",
        "En un punto de recogida",
    ),
    "DE": ("Delivered", "Zugestellt", "Livré", "Entregado"),
    "EX": (
        "Delivery problem",
        "Problem bei der Zustellung",
        "Problème de livraison",
        "Problema con la entrega",
    ),
}

#: Labels for the status details that say more than their status code.
DETAIL_EVENT_LABELS: dict[str, tuple[str, str, str, str]] = {
    "PICKED_UP": (
        "Picked up by the carrier",
        "Vom Versanddienstleister abgeholt",
        "Collecté par le transporteur",
        "Recogido por el transportista",
    ),
    "DROPPED_OFF": (
        "Dropped off with the carrier",
        "Beim Versanddienstleister eingeliefert",
        "Déposé chez le transporteur",
        "Entregado al transportista",
    ),
    "HUB_SCAN_IN": (
        "Arrived at a carrier facility",
        "In einem Paketzentrum angekommen",
        "Arrivé dans un centre du transporteur",
        "Llegó a un centro del transportista",
    ),
    "HUB_SCAN_OUT": (
        "Left a carrier facility",
        "Paketzentrum verlassen",
        "Parti d'un centre du transporteur",
        "Salió de un centro del transportista",
    ),
    "CUSTOMS_PROCESSING": ("In customs", "In der Zollabfertigung", "En douane", "En aduana"),
    "OUT_FOR_DELIVERY": (
        "Out for delivery",
        "In Zustellung",
        "En cours de livraison",
        "En reparto",
    ),
    "DELIVERED_TO_PICKUP_POINT": (
        "Delivered to a pickup point",
        "In einer Abholstelle zugestellt",
        "Livré en point relais",
        "Entregado en un punto de recogida",
    ),
    "PARCEL_COLLECTED_FROM_PICKUP_POINT": (
        "Collected from the pickup point",
        "In der Abholstelle abgeholt",
        "Retiré au point relais",
        "Recogido en el punto de recogida",
    ),
    "ADDRESS_QUERY": (
        "Problem with the address",
        "Problem mit der Adresse",
        "Problème d'adresse",
        "Problema con la dirección",
    ),
    "HELD_BY_CARRIER": (
        "Held by the carrier",
        "Vom Versanddienstleister zurückgehalten",
        "Retenu par le transporteur",
        "Retenido por el transportista",
    ),
    "RETURN_TO_SENDER": (
        "Being returned to the sender",
        "Rücksendung an den Absender",
        "Retour à l'expéditeur en cours",
        "En devolución al remitente",
    ),
    "UNDELIVERABLE_RETURNED_TO_SENDER": (
        "Returned to the sender",
        "An den Absender zurückgeschickt",
        "Retourné à l'expéditeur",
        "Devuelto al remitente",
    ),
}
